import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { AWS_FUNCTION_ENV } from '../../core/platform/aws-deployment.js';

/**
 * How every Vaultra function is bundled (esbuild, locally, at synth): one minified ESM file for
 * Node 22 with a source map, and the environment's config compiled in.
 *
 * - Everything is bundled, the AWS SDK included: the function runs the
 *   SDK versions the tests ran, not whichever the Lambda runtime ships that month. Marking cloud
 *   SDKs external is not an option either: esbuild hoists an external package's import to the
 *   top of an ESM bundle, so a GCP SDK reached only through a lazy `import()` would be required
 *   at cold start.
 * - The config travels two ways. `define` replaces a literal `process.env.VAULTRA_CONFIG_JSON` in
 *   the handler's code; the banner also sets the variable before any bundled code runs, for code
 *   that reads it by computed name (`env[AWS_FUNCTION_ENV.configJson]`), which `define` cannot see.
 *   Lambda's own environment variables are capped at 4 KB, too small for a config with many jobs.
 * - The one exception is nodemailer (email over SMTP, ~250 KB minified): it is reached only by a
 *   dynamic `import()` in the SMTP notifier, which esbuild leaves as it is for an external module.
 *   It is installed beside the bundle (`nodeModules`) when the environment has `notifications.smtp`,
 *   and left out otherwise, so the functions of every other environment stay under their 1 MB.
 * - The banner gives the ESM bundle a `require` for the CommonJS packages bundled into it.
 *
 * @param configJson `bundledEnvironmentJson(configText, environmentName)`
 */
export function functionBundling(configJson: string): BundlingOptions {
  const sendsEmail = Object.values((JSON.parse(configJson) as { environments: Record<string, { notifications?: { smtp?: unknown } }> }).environments).some((environment) => environment.notifications?.smtp !== undefined);
  // JSON.stringify of the text is a valid JavaScript string literal (JSON is a subset of JavaScript).
  const configLiteral = JSON.stringify(configJson);
  const configVariable = `process.env.${AWS_FUNCTION_ENV.configJson}`;
  return {
    format: OutputFormat.ESM,
    target: 'node22',
    minify: true,
    sourceMap: true,
    mainFields: ['module', 'main'],
    externalModules: ['nodemailer'],
    ...(sendsEmail ? { nodeModules: ['nodemailer'] } : {}),
    bundleAwsSDK: true,
    banner: [`import { createRequire as __vaultraCreateRequire } from 'module';`, 'const require = __vaultraCreateRequire(import.meta.url);', `${configVariable} ??= ${configLiteral};`].join(' '),
    define: { [configVariable]: configLiteral },
  };
}
