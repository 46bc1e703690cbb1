import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { defaultIdentityPath, writeNewIdentity } from '../keys.js';
import { writeNewSigningKey } from '../signing-keys.js';
import { printJson } from './shared.js';

interface KeygenOptions {
  out?: string;
  signingKeyOut?: string;
  signingOnly?: boolean;
  json?: boolean;
}

export function keygenCommand(): Command {
  return new Command('keygen')
    .description('create an age identity and a signing key beside it (0600); print the age1… recipient')
    .option('--out <file>', 'where to write the identity (default: your default identity path)')
    .option('--signing-key-out <file>', 'where to write the signing key (default: signing-key.pem beside the identity)')
    .option('--signing-only', 'create only the signing key (for an identity made before backups were signed); print its public key')
    .option('--json', 'print {"identityFile", "recipient", "signingKeyFile", "signer"} as JSON')
    .addHelpText(
      'after',
      `
The identity file is in the format of age-keygen: \`age -d -i <file>\` opens Vaultra backups.
Give the recipient to the machines that take backups: they can encrypt, never decrypt.

The signing key signs every backup's manifest. Restores on this machine trust it; elsewhere,
trust its public key (printed on stderr, "signer" in --json) with --trust or signing.trusted in
vaultra.config.yaml. Whoever holds it can make backups your restores accept: keep it as safe as
the identity.`,
    )
    .action(async (options: KeygenOptions) => {
      const identityFile = options.out ?? defaultIdentityPath();
      const signingKeyFile = options.signingKeyOut ?? join(dirname(identityFile), 'signing-key.pem');
      // Nothing is written unless everything can be: a half-made key pair is worse than none.
      for (const path of options.signingOnly ? [signingKeyFile] : [identityFile, signingKeyFile]) {
        if (await access(path).then(() => true, () => false)) {
          throw new ConfigError(`${path} already exists: choose another ${path === signingKeyFile ? '--signing-key-out' : '--out'}, or remove it first if you are sure nothing needs it`);
        }
      }
      const identity = options.signingOnly ? undefined : await writeNewIdentity(identityFile);
      const signer = await writeNewSigningKey(signingKeyFile);
      if (options.json) {
        return printJson({ ...(identity ? { identityFile, recipient: identity.recipient } : {}), signingKeyFile, signer: signer.publicKey.text });
      }
      if (identity) process.stderr.write(`vaultra: wrote identity ${identityFile}; keep a copy somewhere safe\n`);
      process.stderr.write(`vaultra: wrote signing key ${signingKeyFile}; trust its backups elsewhere with --trust ${signer.publicKey.text}\n`);
      process.stdout.write(`${identity ? identity.recipient : signer.publicKey.text}\n`);
    });
}
