import { describe, expect, it } from 'vitest';
import { LAMBDA_CA_BUNDLE, TOOLS_LAYER_MARIADB_PLUGIN_DIR, toolsLayerEnvironment } from '../../core/platform/tools-layer.js';

describe('toolsLayerEnvironment', () => {
  it('puts the layer first on Lambda\'s PATH, once, and adds the plugin folder and CA bundle', () => {
    // Prepare: Lambda's own PATH lists /opt/bin last.
    const lambda = { PATH: '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin' };

    // Act
    const env = toolsLayerEnvironment(lambda);

    // Assess
    expect(env).toEqual({
      PATH: '/opt/bin:/var/lang/bin:/usr/local/bin:/usr/bin/:/bin',
      MARIADB_PLUGIN_DIR: TOOLS_LAYER_MARIADB_PLUGIN_DIR,
      SSL_CERT_FILE: LAMBDA_CA_BUNDLE,
    });
  });

  it('keeps a CA bundle the function already names, and works without a PATH', () => {
    const env = toolsLayerEnvironment({ SSL_CERT_FILE: '/var/task/ca.pem' });
    expect(env.PATH).toBe('/opt/bin');
    expect(env.SSL_CERT_FILE).toBe('/var/task/ca.pem');
  });
});
