/**
 * The console's on-demand API clients for GCP and Azure against local HTTP stubs of the api
 * functions (no emulator runs Cloud Functions or Azure Functions here): each stub checks what
 * the client sends — the body, the identity token or function key — and answers as the real
 * handlers do (functions/gcp/api.ts, functions/azure/api.ts: JSON, with 4xx/5xx for refusals).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudFunctionOnDemandApi } from '../../core/adapters/on-demand-api/cloud-function-on-demand-api.js';
import { AzureFunctionOnDemandApi } from '../../core/adapters/on-demand-api/azure-function-on-demand-api.js';
import { ConfigError, LaunchFailedError } from '../../core/errors.js';
import { HttpReceiver } from '../support/http-receiver.js';

const STARTED = { ok: true, action: 'verify', runId: '20261122T031502.123Z-3f9c2a', taskId: 'projects/p/locations/r/jobs/vaultra-prod-runner/executions/vaultra-prod-runner-x7k2p' };
const json = (status: number, body: unknown) => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('CloudFunctionOnDemandApi against a local HTTP stub of the GCP api function (ID token from an injected source)', () => {
  const stub = new HttpReceiver(json(200, STARTED));
  const audiences: string[] = [];
  beforeAll(() => stub.start().then(() => undefined));
  afterEach(() => (stub.requests.length = 0));
  const client = () =>
    new CloudFunctionOnDemandApi({
      url: stub.url('/vaultra-prod-api'),
      idToken: (audience) => {
        audiences.push(audience);
        return Promise.resolve('stub-id-token');
      },
    });

  it('POSTs the request as JSON with an identity token whose audience is the function URL', async () => {
    await expect(client().send({ action: 'verify', job: 'shop', runId: 'latest' })).resolves.toEqual(STARTED);
    const [request] = stub.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/vaultra-prod-api');
    expect(request!.headers.authorization).toBe('Bearer stub-id-token');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual({ action: 'verify', job: 'shop', runId: 'latest' });
    expect(audiences.at(-1)).toBe(stub.url('/vaultra-prod-api'));
  });

  it("returns the function's refusals as answers, and says what is missing when the platform refuses", async () => {
    stub.reply(json(409, { ok: false, error: { kind: 'skipped', message: 'another run of shop holds the job\'s lock' } }));
    await expect(client().send({ action: 'backup', job: 'shop' })).resolves.toEqual({ ok: false, error: { kind: 'skipped', message: "another run of shop holds the job's lock" } });
    stub.reply({ status: 403, body: '<html>Your client does not have permission</html>' });
    await expect(client().send({ action: 'list' })).rejects.toThrow(new ConfigError(`calling ${stub.url('/vaultra-prod-api')} (list) was refused (HTTP 403): the caller needs roles/run.invoker on the function (api_invokers in the Terraform module)`));
    stub.reply({ status: 404, body: 'Page not found' });
    await expect(client().send({ action: 'list' })).rejects.toThrow(/no function at .* \(HTTP 404\); deploy the environment, or set api: in the config to its URL/);
    stub.reply({ status: 502, body: 'Bad Gateway' });
    await expect(client().send({ action: 'list' })).rejects.toBeInstanceOf(LaunchFailedError);
  });

  it('says how to get an identity token when there is none', async () => {
    const noToken = new CloudFunctionOnDemandApi({ url: stub.url('/vaultra-prod-api'), idToken: () => Promise.reject(new Error('Cannot fetch ID token in this environment, use GCE or set the GOOGLE_APPLICATION_CREDENTIALS')) });
    await expect(noToken.send({ action: 'list' })).rejects.toThrow(/failed: no identity token for it \(Cannot fetch ID token.*\); use a service account's credentials/);
    expect(stub.requests).toHaveLength(0);
  });
});

describe('AzureFunctionOnDemandApi against a local HTTP stub of the Azure api function', () => {
  const stub = new HttpReceiver(json(200, { ...STARTED, taskId: 'vaultra-prod-runner-ab12cd3' }));
  beforeAll(() => stub.start().then(() => undefined));
  afterEach(() => (stub.requests.length = 0));

  it('sends the function key as x-functions-key, never in the URL', async () => {
    const key = 'stub-function-key-Zx81';
    const answer = await new AzureFunctionOnDemandApi({ url: stub.url('/api/api'), auth: { functionKey: key } }).send({ action: 'verify', job: 'shop' });
    expect(answer).toMatchObject({ ok: true, taskId: 'vaultra-prod-runner-ab12cd3' });
    const [request] = stub.requests;
    expect(request!.path).toBe('/api/api');
    expect(request!.headers['x-functions-key']).toBe(key);
    expect(request!.headers.authorization).toBeUndefined();
  });

  it('sends an Entra ID token for the scope with App Service Authentication, and names both ways in when refused', async () => {
    const scopes: unknown[] = [];
    const credential = { getToken: (scope: string | string[]) => (scopes.push(scope), Promise.resolve({ token: 'stub-entra-token', expiresOnTimestamp: 0 })) };
    const client = new AzureFunctionOnDemandApi({ url: stub.url('/api/api'), auth: { entraScope: 'api://vaultra-prod/.default', credential } });
    await client.send({ action: 'list' });
    expect(stub.requests[0]!.headers.authorization).toBe('Bearer stub-entra-token');
    expect(scopes).toEqual(['api://vaultra-prod/.default']);
    stub.reply({ status: 401, body: '' });
    await expect(client.send({ action: 'list' })).rejects.toThrow('(HTTP 401): give the function key (VAULTRA_API_KEY) or an Entra ID token of an app registration the function app allows (VAULTRA_API_SCOPE)');
  });
});
