import { Command } from 'commander';
import { defaultIdentityPath, writeNewIdentity } from '../keys.js';
import { printJson } from './shared.js';

export function keygenCommand(): Command {
  return new Command('keygen')
    .description('create an age identity (0600) and print its age1… recipient')
    .option('--out <file>', 'where to write the identity (default: your default identity path)')
    .option('--json', 'print {"identityFile", "recipient"} as JSON')
    .addHelpText('after', '\nThe identity file is in the format of age-keygen: `age -d -i <file>` opens Vaultra backups.\nGive the recipient to the machines that take backups: they can encrypt, never decrypt.')
    .action(async (options: { out?: string; json?: boolean }) => {
      const path = options.out ?? defaultIdentityPath();
      const { recipient } = await writeNewIdentity(path);
      if (options.json) return printJson({ identityFile: path, recipient });
      process.stderr.write(`vaultra: wrote identity ${path}; keep a copy somewhere safe\n`);
      process.stdout.write(`${recipient}\n`);
    });
}
