import { Command, Option } from 'commander';
import { runVerify, type VerifyReport } from '../../core/usecases/verify.js';
import { trustUnsignedBackup } from '../../core/usecases/trust-unsigned.js';
import { dataObjectOf } from '../../core/usecases/read-backup.js';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_STORAGE } from '../context.js';
import { decryptorsFor } from '../keys.js';
import { existingDedupKey } from '../dedup-key.js';
import { signerFor, trustPolicyFor } from '../signing-keys.js';
import { Progress } from '../progress.js';
import { formatBytes } from '../format.js';
import { authenticityJson, catalogOption, collect, openStore, printFields, printJson, signalOf, TRUST_HELP, trustOptions } from './shared.js';
import { measuredAction, runTracer, traceFields } from '../telemetry.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';
import { launchedRunId } from '../launched-run-id.js';
import { loggedRun } from '../logged-run.js';

interface VerifyOptions {
  from: string;
  job?: string;
  identity?: string[];
  passphraseEnv?: string;
  trust?: string[];
  allowUnsigned?: boolean;
  trustUnsigned?: boolean;
  signingKey?: string;
  json?: boolean;
  progress: boolean;
  catalog?: string;
  sample?: string;
  dedupKey?: string;
}

export function verifyCommand(): Command {
  const [trust, allowUnsigned] = trustOptions();
  return new Command('verify')
    .description('read a whole backup back: its signature, checksums, age authentication and the engine\'s structural check')
    .argument('<runId|latest>', 'the run to verify, or latest')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'the job, when the storage holds several')
    .option('--identity <file>', 'age identity file (repeatable; default: your default identity)', collect)
    .option('--passphrase-env <VAR>', 'the passphrase is in environment variable VAR')
    .addOption(trust!)
    .addOption(allowUnsigned!)
    .option('--trust-unsigned', 'once, for a backup you know is yours that has no trusted signature (made before signing existed): verify it fully, then sign it with your signing key')
    .addOption(new Option('--signing-key <file|service:key>', 'the key --trust-unsigned signs with (default: your default signing key)').env('VAULTRA_SIGNING_KEY'))
    .option('--sample <percent>', 'chunked snapshots: read and authenticate only the chunks of this share of the packs, chosen at random (every object\'s presence and size is still checked)')
    .option('--dedup-key <file|env://VAR>', 'chunked snapshots: also check each chunk\'s id with the job\'s dedup key (default: $VAULTRA_DEDUP_KEY or your dedup-key.txt, when there is one)')
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-progress', 'no progress display on stderr')
    .addOption(catalogOption())
    .addHelpText('after', TRUST_HELP)
    .action(measuredAction('verify', async (ref: string, options: VerifyOptions, command: Command) => {
      if (options.trustUnsigned && options.allowUnsigned) throw new ConfigError('--trust-unsigned already accepts the missing signature: drop --allow-unsigned');
      const store = await openStore(options.from, options.catalog);
      // The verify's log is kept beside a local catalog, as a backup's is (logged-run.ts).
      await loggedRun(store, options, async ({ catalog, notedTracer, note, recorded }) => {
        const { storage } = store;
        const { decryptor, randomAccess } = await decryptorsFor({ identity: options.identity, passphraseEnv: options.passphraseEnv });
        const dedupKey = await existingDedupKey(options.dedupKey);
        const samplePercent = options.sample === undefined ? undefined : percent(options.sample);
        const readers = { randomAccess, ...(dedupKey ? { dedupKey } : {}) };
        const trustPolicy = await trustPolicyFor(options, signalOf(command));
        const signer = options.trustUnsigned ? await signerFor(options.signingKey, (line) => process.stderr.write(`vaultra: ${line}\n`)) : undefined;
        const progress = new Progress('verifying', options.progress && !options.json);
        let report: VerifyReport & { signed?: boolean };
        try {
          const runId = launchedRunId();
          const run = { signal: signalOf(command), onProgress: (bytes: number) => progress.update(bytes), ...(samplePercent === undefined ? {} : { samplePercent }), ...(runId ? { runId } : {}) };
          report = signer
            ? await trustUnsignedBackup({ storage, catalog, decryptor, trust: trustPolicy, signer, ...backupAdapters, ...readers }, { ref, job: options.job }, run)
            : await runVerify({ storage, catalog, decryptor, trust: trustPolicy, ...backupAdapters, ...readers, tracer: notedTracer(runTracer()) }, { ref, job: options.job }, run);
        } finally {
          progress.stop();
        }
        const { manifest } = report.backup;
        const signedNow = report.signed === true ? signer!.keyId : undefined;
        const verifyRun = recorded();
        const title = `${report.backup.manifest.log ? 'log run' : 'backup'} ${report.backup.runId} of job ${report.backup.job} verified`;
        if (options.json) {
          printJson({
            runId: report.backup.runId,
            job: report.backup.job,
            status: 'verified',
            engine: manifest.source.engine,
            bytesStored: report.bytesStored,
            bytesRaw: report.bytesRaw,
            sha256: (manifest.snapshot ? manifest.objects.find((object) => object.role === 'index')! : dataObjectOf(manifest)).sha256,
            type: manifest.type ?? 'full',
            structure: report.structure,
            ...authenticityJson(report.authenticity),
            ...(signer ? { signedNow: signedNow ?? null } : {}),
            // The verify's own run: vaultra show <it> --log prints its log.
            ...(verifyRun ? { verifyRunId: verifyRun.runId } : {}),
            ...traceFields(),
          });
          // The JSON is for programs, and not copied into the log: the log says the outcome in words.
          note(title);
          return;
        }
        const authenticity = report.authenticity;
        printFields(title, [
          [
            'signature',
            signedNow
              ? `signed now by ${signedNow} (it had ${authenticity && !authenticity.verified ? authenticity.reason : 'none'})`
              : authenticity?.verified
                ? `${authenticity.keyId}, trusted as ${authenticity.trustedAs}`
                : `NOT PROVEN: ${authenticity?.reason ?? 'not checked'}`,
          ],
          manifest.snapshot
            ? ['objects', `the index and ${manifest.objects.length - 1} packs, ${formatBytes(report.bytesStored)}, present at their sizes`]
            : ['sha256', `${dataObjectOf(manifest).sha256} matches (${formatBytes(report.bytesStored)})`],
          ['encryption', manifest.encryption.format === 'none' ? 'none' : `${manifest.encryption.format}: recipients as the manifest lists them, every chunk authenticated`],
          ['structure', report.structure],
          // A plaintext size other than the manifest's fails the verify: reaching here means it matched.
          ['plaintext', `${formatBytes(report.bytesRaw)} (matches the manifest)`],
          ['run', verifyRun?.runId],
        ]);
      });
    }));
}

/** `--sample 5` or `5%`: a share of the packs, above 0 and up to 100. */
function percent(text: string): number {
  const value = Number(text.replace(/%$/, ''));
  if (!(value > 0 && value <= 100)) throw new ConfigError(`--sample ${JSON.stringify(text)}: expected a percentage above 0 and at most 100, e.g. 5`);
  return value;
}
