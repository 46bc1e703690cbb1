/**
 * The contract between the tools layer (`layers/build.sh`), the stack that publishes it and the
 * function that runs jobs inline with it: where the layer's files are and what environment its
 * tools need. layers/README.md says why each is so.
 */

/** The layer zip `bash layers/build.sh` writes, relative to the repository root. */
export const TOOLS_LAYER_ZIP = 'layers/dist/vaultra-tools-layer.zip';

/** Where Lambda shows the layer's tools. */
export const TOOLS_LAYER_BIN = '/opt/bin';

/** The layer's binaries are x86_64 only: a function using it must be too. */
export const TOOLS_LAYER_ARCHITECTURE = 'x86_64';

/** libmariadb's authentication plugins in the layer (MySQL 8's caching_sha2_password, ed25519). */
export const TOOLS_LAYER_MARIADB_PLUGIN_DIR = '/opt/vaultra/lib/mariadb/plugin';

/** Amazon Linux's CA bundle: the layer's OpenSSL looks in Debian's /usr/lib/ssl, which Lambda has not. */
export const LAMBDA_CA_BUNDLE = '/etc/pki/tls/certs/ca-bundle.crt';

/**
 * The variables to set in a function that spawns the layer's tools, given its environment:
 * the layer's bin first on PATH (Lambda's own PATH lists /opt/bin last, behind any tar or
 * sqlite3 of the OS), libmariadb's plugin folder, and a CA bundle unless one is set.
 *
 * @example
 * Object.assign(process.env, toolsLayerEnvironment(process.env));
 */
export function toolsLayerEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const rest = (env.PATH ?? '').split(':').filter((dir) => dir !== '' && dir !== TOOLS_LAYER_BIN);
  return {
    PATH: [TOOLS_LAYER_BIN, ...rest].join(':'),
    MARIADB_PLUGIN_DIR: TOOLS_LAYER_MARIADB_PLUGIN_DIR,
    SSL_CERT_FILE: env.SSL_CERT_FILE ?? LAMBDA_CA_BUNDLE,
  };
}
