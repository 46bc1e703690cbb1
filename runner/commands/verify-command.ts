import { Command, Option } from 'commander';
import { runVerify } from '../../core/usecases/verify.js';
import { DEFAULT_STORAGE } from '../context.js';
import { decryptorFor } from '../keys.js';
import { Progress } from '../progress.js';
import { formatBytes } from '../format.js';
import { catalogOption, collect, openStore, printFields, printJson, signalOf } from './shared.js';

interface VerifyOptions {
  from: string;
  job?: string;
  identity?: string[];
  passphraseEnv?: string;
  json?: boolean;
  progress: boolean;
  catalog?: string;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('read a whole backup back: checksums, age authentication and the engine\'s structural check')
    .argument('<runId|latest>', 'the run to verify, or latest')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'the job, when the storage holds several')
    .option('--identity <file>', 'age identity file (repeatable; default: your default identity)', collect)
    .option('--passphrase-env <VAR>', 'the passphrase is in environment variable VAR')
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-progress', 'no progress display on stderr')
    .addOption(catalogOption())
    .action(async (ref: string, options: VerifyOptions, command: Command) => {
      const { storage, catalog } = await openStore(options.from, options.catalog);
      const decryptor = await decryptorFor({ identity: options.identity, passphraseEnv: options.passphraseEnv });
      const progress = new Progress('verifying', options.progress && !options.json);
      let report;
      try {
        report = await runVerify({ storage, catalog, decryptor }, { ref, job: options.job }, { signal: signalOf(command), onProgress: (bytes) => progress.update(bytes) });
      } finally {
        progress.stop();
      }
      const { manifest } = report.backup;
      if (options.json) {
        return printJson({ runId: report.backup.runId, job: report.backup.job, status: 'verified', engine: manifest.source.engine, bytesStored: report.bytesStored, bytesRaw: report.bytesRaw, sha256: manifest.objects[0]!.sha256, structure: report.structure });
      }
      printFields(`backup ${report.backup.runId} of job ${report.backup.job} verified`, [
        ['sha256', `${manifest.objects[0]!.sha256} matches (${formatBytes(report.bytesStored)})`],
        ['encryption', manifest.encryption.format === 'none' ? 'none' : `${manifest.encryption.format}: recipients as the manifest lists them, every chunk authenticated`],
        ['structure', report.structure],
        // A plaintext size other than the manifest's fails the verify: reaching here means it matched.
        ['plaintext', `${formatBytes(report.bytesRaw)} (matches the manifest)`],
      ]);
    });
}
