import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface SigningKeyProps {
  /** The Vaultra environment's name: the key's alias is `alias/vaultra/<name>/signing`. */
  readonly environmentName: string;
}

/**
 * The environment's manifest signing key: asymmetric, `ECC_NIST_P256`, `SIGN_VERIFY`. The runner
 * signs every manifest with `kms:Sign` (ECDSA_SHA_256) and never holds the private key; restores
 * verify with its public key (`kms:GetPublicKey` once, or a copy of it in `signing.trusted`),
 * locally. A separate key from the environment's encryption key: a key is either for encryption
 * or for signing, and whoever may decrypt backups need not be able to sign them, nor the reverse.
 *
 * Asymmetric keys have no automatic rotation: rotate by creating a new key, adding its public key
 * to `signing.trusted` first, then switching (README, "Rotating the signing key").
 */
export class SigningKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      alias: `alias/vaultra/${props.environmentName}/signing`,
      description: `Vaultra ${props.environmentName}: signs every backup manifest (restores accept only its signatures and signing.trusted)`,
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      // Deleting it makes every backup it signed untrusted: it outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
  }
}
