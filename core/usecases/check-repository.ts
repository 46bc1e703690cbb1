import { createHash, randomInt } from 'node:crypto';
import type { StorageBackend } from '../ports/storage-backend.js';
import { parseManifestKey, sharedFolder } from '../domain/object-layout.js';
import { redact } from '../domain/redact.js';
import { jobNameSchema } from '../domain/run.js';
import { ConfigError, oneLine } from '../errors.js';
import { surveyJobPacks, type JobPackSurvey, type PackReference } from './job-packs.js';

export interface CheckRequest {
  /** Only this job. @default every job with a manifest or a shared area in the storage */
  readonly job?: string;
  /** Download each referenced pack (once) and check its SHA-256 against the manifests. */
  readonly readData?: boolean;
  /** With `readData`: only this share of each job's packs, picked at random (restic's read-data-subset). @default 100 */
  readonly samplePercent?: number;
  readonly signal?: AbortSignal;
  /** Picks a random integer in `[0, max)`: tests make the sample predictable. @default crypto.randomInt */
  readonly randomInt?: (max: number) => number;
}

/** A pack or index that is not what the manifests say: absent, or not the size they list. */
export interface MisfitObject {
  readonly key: string;
  /** Run ids whose manifests list it. */
  readonly runs: string[];
  readonly expectedBytes: number;
  /** `undefined`: not in the listing. */
  readonly storedBytes?: number;
}

/** What `vaultra check` found for one job. Everything but `orphans` is a problem. */
export interface JobCheck {
  readonly job: string;
  readonly manifests: number;
  readonly packsReferenced: number;
  readonly packsStored: number;
  /** Referenced packs absent from the listing, or of another size. */
  readonly badPacks: MisfitObject[];
  /** Snapshot indexes absent from their run folders, or of another size. */
  readonly badIndexes: MisfitObject[];
  readonly unreadableManifests: { readonly key: string; readonly reason: string }[];
  /** Packs two manifests describe differently. */
  readonly conflictingPacks: { readonly name: string; readonly runs: string[] }[];
  /** Stored packs no manifest lists: what an interrupted backup leaves; the pack sweep removes them. Not a problem. */
  readonly orphans: { readonly count: number; readonly bytes: number; readonly names: string[] };
  /** With `readData`: what was downloaded and which packs' bytes are not the manifests'. */
  readonly data?: { readonly packsRead: number; readonly bytesRead: number; readonly damaged: { readonly key: string; readonly runs: string[]; readonly reason: string }[] };
}

export interface CheckReport {
  readonly location: string;
  readonly jobs: JobCheck[];
  /** How many problems were found in all jobs: 0 means the repository is healthy. */
  readonly problems: number;
}

/**
 * Checks that a storage's chunked snapshots can be restored (`vaultra check`): for each job, every
 * pack and index its manifests list is stored with the listed size, every manifest can be read,
 * and, with `readData`, every referenced pack's bytes hash to the listed SHA-256. Reads, never
 * writes. Without `readData` it costs one listing and the manifests; `samplePercent` bounds what
 * `readData` downloads. A storage that cannot be listed rejects; a pack that cannot be read is
 * reported as damaged, and the check goes on.
 */
export async function checkRepository(storage: StorageBackend, request: CheckRequest = {}): Promise<CheckReport> {
  const { signal } = request;
  const samplePercent = request.samplePercent ?? 100;
  if (!(samplePercent > 0 && samplePercent <= 100)) throw new ConfigError(`--sample is a percentage above 0 and at most 100, got ${samplePercent}`);
  if (request.job !== undefined && !jobNameSchema.safeParse(request.job).success) throw new ConfigError(`--job needs a job name, got ${JSON.stringify(request.job)}`);
  const jobs = request.job ? [request.job] : await jobsIn(storage, signal);
  const checks: JobCheck[] = [];
  for (const job of jobs) {
    const survey = await surveyJobPacks(storage, job, signal);
    const check = structureOf(survey);
    if (!request.readData) {
      checks.push(check);
      continue;
    }
    // Only packs stored whole are read (the others are reported already), in name order so a given picker picks the same.
    const readable = [...survey.referenced.values()].filter((ref) => survey.stored.get(ref.name) === ref.sizeBytes).sort((a, b) => a.name.localeCompare(b.name));
    checks.push({ ...check, data: await readPacks(storage, survey, sample(readable, samplePercent, request.randomInt ?? randomInt), signal) });
  }
  return { location: storage.location, jobs: checks, problems: checks.reduce((sum, check) => sum + problemsIn(check), 0) };
}

/** How many problems one job's check found (orphans are none). */
export function problemsIn(check: JobCheck): number {
  return check.badPacks.length + check.badIndexes.length + check.unreadableManifests.length + check.conflictingPacks.length + (check.data?.damaged.length ?? 0);
}

/** Jobs in the storage: folders holding a manifest or a shared area. */
async function jobsIn(storage: StorageBackend, signal?: AbortSignal): Promise<string[]> {
  const jobs = new Set<string>();
  for await (const object of storage.list('', signal ? { signal } : {})) {
    const job = parseManifestKey(object.key)?.job ?? /^([^/]+)\/shared\//.exec(object.key)?.[1];
    if (job && jobNameSchema.safeParse(job).success) jobs.add(job);
  }
  return [...jobs].sort();
}

/** What the listing and the manifests say about one job, without reading any pack. */
function structureOf(survey: JobPackSurvey): JobCheck {
  const badPacks: MisfitObject[] = [];
  for (const ref of survey.referenced.values()) {
    const storedBytes = survey.stored.get(ref.name);
    if (storedBytes !== ref.sizeBytes) badPacks.push({ key: `${sharedFolder(survey.job)}/${ref.name}`, runs: ref.runs, expectedBytes: ref.sizeBytes, ...(storedBytes === undefined ? {} : { storedBytes }) });
  }
  const badIndexes: MisfitObject[] = [];
  for (const { runId, key, object } of survey.indexes) {
    const storedBytes = survey.listed.get(key);
    if (storedBytes !== object.sizeBytes) badIndexes.push({ key, runs: [runId], expectedBytes: object.sizeBytes, ...(storedBytes === undefined ? {} : { storedBytes }) });
  }
  const orphans = { count: 0, bytes: 0, names: [] as string[] };
  for (const [name, sizeBytes] of survey.stored) {
    if (survey.referenced.has(name)) continue;
    orphans.count++;
    orphans.bytes += sizeBytes;
    orphans.names.push(name);
  }
  return {
    job: survey.job,
    manifests: survey.manifests.length,
    packsReferenced: survey.referenced.size,
    packsStored: survey.stored.size,
    badPacks,
    badIndexes,
    unreadableManifests: [...survey.unreadable],
    conflictingPacks: [...survey.conflicting],
    orphans,
  };
}

/** `percent` of `refs` (at least one when there is any), picked at random. */
function sample<T>(refs: T[], percent: number, pick: (max: number) => number): T[] {
  if (percent >= 100) return refs;
  const count = Math.min(refs.length, Math.max(1, Math.round((refs.length * percent) / 100)));
  const pool = [...refs];
  const chosen: T[] = [];
  while (chosen.length < count) chosen.push(pool.splice(pick(pool.length), 1)[0]!);
  return chosen;
}

/** Downloads each pack once and compares its SHA-256 with the manifests'. */
async function readPacks(storage: StorageBackend, survey: JobPackSurvey, refs: readonly PackReference[], signal?: AbortSignal): Promise<NonNullable<JobCheck['data']>> {
  let bytesRead = 0;
  const damaged: { key: string; runs: string[]; reason: string }[] = [];
  for (const ref of refs) {
    const key = `${sharedFolder(survey.job)}/${ref.name}`;
    try {
      const hash = createHash('sha256');
      for await (const chunk of await storage.get(key, signal ? { signal } : {})) {
        hash.update(chunk as Buffer);
        bytesRead += (chunk as Buffer).length;
      }
      const sha256 = hash.digest('hex');
      if (sha256 !== ref.sha256) damaged.push({ key, runs: ref.runs, reason: `its SHA-256 is ${sha256}, the manifests say ${ref.sha256}: the pack was altered or damaged` });
    } catch (error) {
      if (signal?.aborted) throw error;
      damaged.push({ key, runs: ref.runs, reason: `it cannot be read: ${redact(oneLine(error))}` });
    }
  }
  return { packsRead: refs.length, bytesRead, damaged };
}
