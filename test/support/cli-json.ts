/** The shapes of what `vaultra … --json` prints, as the integration tests read them. */

export interface BackupJson {
  runId: string;
  job: string;
  status: string;
  engine: string;
  bytesRaw: number;
  bytesStored: number;
  sha256: string | null;
  location: string;
  durationMs: number;
  compression?: { id: string; level: number; implementation: string };
  encryption?: { format: string; recipients: { type: string; recipient?: string }[] };
}

/** One entry of `vaultra list --json`: a catalog run record. */
export interface RunJson {
  runId: string;
  job: string;
  kind: string;
  status: string;
  engine?: string;
  startedAt: string;
  bytesRaw?: number;
  bytesStored?: number;
  sha256?: string;
  manifestKey?: string;
}

export interface RestoreJson {
  runId: string;
  job: string;
  engine: string;
  target: string;
  dryRun: boolean;
  status: string;
  bytesRaw: number;
  restored: { kind: string; schema?: string; name: string }[];
  replaced: string[];
}

/** `manifest.json`, the fields tests look at. */
export interface ManifestJson {
  runId: string;
  source: { engine: string; database: string };
  dump: { tool: string; format: string; consistency: string };
  compression: { id: string; level: number; implementation: string };
  encryption: { format: string; recipients: { type: string; recipient?: string }[] };
  objects: { name: string; sizeBytes: number; sha256: string }[];
  plaintextBytes: number;
  contents: { kind: string; name: string; rows?: number }[];
}

/** The documented run id format. */
export const RUN_ID = /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$/;
