import { describe, expect, it } from 'vitest';
import { engineIdForUrl } from '../../core/adapters/engines/engine-descriptors.js';
import { volumeDescriptor } from '../../core/adapters/engines/volume/volume-descriptor.js';
import { ConfigError } from '../../core/errors.js';

describe('volume: URLs', () => {
  it.each([
    ['volume:pgdata', 'pgdata'],
    ['volume://shop_uploads.v2', 'shop_uploads.v2'],
    ['VOLUME:Data-1', 'Data-1'],
  ])('%s names volume %s', (url, name) => {
    expect(engineIdForUrl(url)).toBe('volume');
    const parsed = volumeDescriptor.parse(url);
    expect(parsed.parts).toBe(name);
    expect(`${parsed}`).toBe(`volume:${name}`);
  });

  it.each(['volume:', 'volume:../etc', 'volume:/abs', 'volume:-flag', 'volume:a b', 'volume:_x'])('refuses %s, saying what a volume name is', (url) => {
    expect(() => volumeDescriptor.parse(url)).toThrow(ConfigError);
    expect(() => volumeDescriptor.parse(url)).toThrow(/expected volume:<Docker volume name>/);
  });
});
