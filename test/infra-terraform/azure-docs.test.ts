/**
 * What the Azure deploy instructions tell a user to run: Container Apps runs linux/amd64 images
 * only, so every runner image build they show must ask for that platform, or an image built on an
 * arm64 host (Apple silicon) is refused when the job starts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/terraform-module.js';

const BUILD = /\b(docker (?:buildx )?build|az acr build)\b/;

/** Lines of `file` that build an image, and which `keep` selects (the Azure ones in a shared file). */
function buildLines(file: string, keep: (line: string) => boolean = () => true): string[] {
  return readFileSync(path.join(REPO_ROOT, file), 'utf8')
    .split('\n')
    .filter((line) => BUILD.test(line) && keep(line));
}

describe('Azure runner image builds in the docs', () => {
  it.each([
    ['infra/azure/README.md', undefined],
    ['README.md', (line: string) => /azurecr|az acr/.test(line)],
    ['infra/azure/variables.tf', undefined],
  ] as const)('%s builds for linux/amd64 every time', (file, keep) => {
    const lines = buildLines(file, keep);
    expect(lines.length, `${file} shows no image build`).toBeGreaterThan(0);
    for (const line of lines) {
      for (const command of line.split(/(?=docker (?:buildx )?build|az acr build)/).filter((part) => BUILD.test(part))) {
        expect(command, line).toContain('--platform linux/amd64');
      }
    }
  });
});
