import type { Writable } from 'node:stream';
import type { DatabaseEngine, DumpOutput, RestoreSink, SourceDescription, TargetState, ValidationSink } from '../../../ports/database-engine.js';
import type { DockerVolumes, HelperContainers, HelperExit } from '../../../ports/docker-volumes.js';
import { DumpFailedError, NotFoundError } from '../../../errors.js';
import type { DirectoryRestoreOptions } from '../directory/directory-restore.js';
import { openTarValidation, type DirectoryValidationOptions } from '../directory/directory-validation.js';
import { createWarnings, describeTarExit, preview } from '../directory/tar-messages.js';
import { displayName } from '../directory/tar-names.js';
import { eachLine, TAR_CREATE_FLAGS } from '../directory/tar-tool.js';
import { helperOutput, helperResult, nulRecords } from './helper-output.js';
import { contentsFromListing, LIST_TOP_COMMAND, LIST_TREE_COMMAND, VOLUME_PATH } from './volume-contents.js';
import { volumeDescriptor, type VolumeSource } from './volume-descriptor.js';
import { openVolumeRestore } from './volume-restore.js';

/** GNU tar's exit status for "some files differ": with --create, files changed while it read them. */
const TAREXIT_DIFFERS = 1;
/** A container's exit status after SIGKILL (`docker kill`, the kernel's OOM killer): 128 + 9. */
const KILLED = 137;

/**
 * The helper image when none is configured: Debian's slim image has GNU tar, findutils and
 * bash, which is all a helper runs. Set `VAULTRA_VOLUME_HELPER_IMAGE` (or `--helper-image`) to
 * an image the Docker engine already has where it cannot pull from Docker Hub.
 */
export const DEFAULT_HELPER_IMAGE = 'debian:bookworm-slim';

/** The helper image this process uses: `$VAULTRA_VOLUME_HELPER_IMAGE`, else the default. */
export function configuredHelperImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.VAULTRA_VOLUME_HELPER_IMAGE || DEFAULT_HELPER_IMAGE;
}

/**
 * Docker named volumes (`volume:<name>`), through the Docker engine's socket. A backup mounts
 * the volume read-only into a helper container with no network, which runs GNU tar with the
 * `dir:` engine's flags and streams the archive out on its stdout: the same POSIX tar, which
 * `verify` reads the same way (a restore still goes into a target of the backup's own engine:
 * `runRestore` matches engines, so a volume backup restores into volumes only). A restore goes into another (absent or empty) volume through helpers, with `dir:`'s
 * safety (volume-restore.ts).
 *
 * Why a helper container rather than reading the volume's mountpoint: the mountpoint is on the
 * Docker host, which the runner is often not (a runner container given the socket, a remote
 * engine's socket forwarded), and reading it needs root on that host; the helper works
 * wherever the socket does, and its read-only mount cannot change the volume.
 */
export class VolumeEngine implements DatabaseEngine<VolumeSource> {
  readonly id = 'volume' as const;
  readonly descriptor = volumeDescriptor;

  constructor(
    private readonly docker: DockerVolumes & HelperContainers,
    private readonly helperImage: string = DEFAULT_HELPER_IMAGE,
  ) {}

  parse(url: string): VolumeSource {
    return volumeDescriptor.parse(url);
  }

  nameOf(source: VolumeSource): string {
    return source.parts;
  }

  async describe(source: VolumeSource, signal?: AbortSignal): Promise<SourceDescription> {
    const volume = await this.existingVolume(source, signal);
    const listing = await helperResult(await this.readOnlyHelper(source.parts, LIST_TREE_COMMAND, signal), (exit) => this.failed(`listing volume ${source.parts}`, exit));
    return { engine: 'volume', database: source.parts, serverVersion: `${volume.driver} driver`, contents: contentsFromListing(listing) };
  }

  async dump(source: VolumeSource, options: { signal?: AbortSignal; directTo?: Writable } = {}): Promise<DumpOutput> {
    await this.existingVolume(source, options.signal);
    const run = await this.readOnlyHelper(source.parts, ['tar', ...TAR_CREATE_FLAGS, `--directory=${VOLUME_PATH}`, '.'], options.signal);
    const stderr: string[] = [];
    eachLine(run.stderr, (line) => stderr.push(line));
    // As for `dir:` (directory-engine.ts): tar exits 1 when a file changed while it read it;
    // such a backup succeeds, and the manifest names the files.
    const accept = (exit: HelperExit) => exit.code === 0 || (exit.code === TAREXIT_DIFFERS && createWarnings(stderr).changed.length > 0);
    const detailsOf = (): Record<string, string> | undefined => {
      const warnings = createWarnings(stderr);
      const details: Record<string, string> = {};
      if (warnings.changed.length > 0) details.changedWhileRead = `${warnings.changed.length} file(s) changed while tar read them, their copies may be torn: ${preview(warnings.changed, 10)}`;
      if (warnings.skipped.length > 0) details.skipped = `${warnings.skipped.length} entr${warnings.skipped.length === 1 ? 'y' : 'ies'} tar cannot archive: ${preview(warnings.skipped, 10)}`;
      return Object.keys(details).length > 0 ? details : undefined;
    };
    return {
      stream: helperOutput(run, accept, (exit) => this.failed(`tar of volume ${source.parts}`, exit)),
      direct: false,
      tool: { name: 'tar', version: `in ${this.helperImage}` },
      format: 'tar-posix',
      consistency: 'files read one by one by GNU tar in a helper container with the volume mounted read-only; for a quiet copy, stop the containers using it (--stop-containers)',
      get details() {
        return detailsOf();
      },
      get warnings() {
        const { changedWhileRead, skipped } = detailsOf() ?? {};
        return [changedWhileRead, skipped].filter((w): w is string => w !== undefined);
      },
    };
  }

  async inspectTarget(target: VolumeSource, signal?: AbortSignal): Promise<TargetState> {
    if (!(await this.docker.inspectVolume(target.parts, signal))) return { exists: false, objects: [] };
    const names = await helperResult(await this.readOnlyHelper(target.parts, LIST_TOP_COMMAND, signal), (exit) => this.failed(`listing volume ${target.parts}`, exit));
    return { exists: true, objects: nulRecords(names).map(displayName) };
  }

  openRestore(target: VolumeSource, options: DirectoryRestoreOptions): Promise<RestoreSink> {
    return openVolumeRestore({ docker: this.docker, image: this.helperImage }, target.parts, options);
  }

  openValidation(options?: DirectoryValidationOptions): Promise<ValidationSink> {
    return openTarValidation(options);
  }

  private async existingVolume(source: VolumeSource, signal?: AbortSignal) {
    const volume = await this.docker.inspectVolume(source.parts, signal);
    if (!volume) throw new NotFoundError(`Docker volume ${source.parts} does not exist (see vaultra volumes)`);
    return volume;
  }

  private readOnlyHelper(volume: string, command: readonly string[], signal?: AbortSignal) {
    return this.docker.runHelper({ image: this.helperImage, command, mounts: [{ volume, path: VOLUME_PATH, readOnly: true }], stdin: false, env: { LC_ALL: 'C' } }, signal);
  }

  private failed(what: string, exit: HelperExit): DumpFailedError {
    const how = exit.code === -1 || exit.code === KILLED ? 'the helper container was killed' : describeTarExit({ code: exit.code, signal: null, stderrTail: exit.stderrTail });
    return new DumpFailedError(`${what} failed (${how})`, exit.stderrTail);
  }
}
