/**
 * The pure part of selective volume restores (volume-selection.ts): which paths the probe helper
 * looks at, and what its answers mean — the `dir:` rules for collisions and for a non-folder
 * above a selected path. The helpers themselves run in test/integration/docker-volume-selective.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { probedPaths, selectionCollisions } from '../../core/adapters/engines/volume/volume-selection.js';
import { RunConflictError } from '../../core/errors.js';

/** PROBE_SCRIPT's output for these kinds, in order. */
const probeOutput = (...kinds: string[]) => Buffer.from(kinds.map((kind) => `${kind}\0`).join(''), 'latin1');

describe('volume selections', () => {
  it('probes every folder above each selected path, then the path, each once', () => {
    expect(probedPaths(['config/app.yaml', 'config/log.yaml', 'data'])).toEqual(['config', 'config/app.yaml', 'config/log.yaml', 'data']);
  });

  it('a selected path the volume holds collides; one under an absent folder does not', () => {
    // Prepare: config is a folder holding app.yaml but not log.yaml; data is absent.
    const selection = ['config/app.yaml', 'config/log.yaml', 'data/x'];
    const output = probeOutput('dir', 'other', 'absent', 'absent', 'absent');
    // Act
    const collisions = selectionCollisions('uploads', selection, output);
    // Assess
    expect(probedPaths(selection)).toEqual(['config', 'config/app.yaml', 'config/log.yaml', 'data', 'data/x']);
    expect(collisions).toEqual(['config/app.yaml']);
  });

  it('a file or a symbolic link where the backup has a folder above a selected path is refused, naming both', () => {
    expect(() => selectionCollisions('uploads', ['data/x'], probeOutput('other', 'absent'))).toThrow(
      new RunConflictError('restore target volume:uploads has data as a file, where the backup has a folder holding data/x: move it away first'),
    );
    expect(() => selectionCollisions('uploads', ['data/x'], probeOutput('link', 'dir'))).toThrow(/has data as a symbolic link, where the backup has a folder holding data\/x/);
  });
});
