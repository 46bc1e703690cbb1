import type { RepairReport } from '../core/usecases/repair-runs.js';
import type { SweptItem } from '../core/usecases/sweep-leftovers.js';
import { formatBytes } from './format.js';

const KIND_NAMES: Record<SweptItem['kind'], string> = {
  'temp-file': 'temp file',
  'empty-folder': 'empty folder',
  'multipart-upload': 'incomplete multipart upload',
  'uncommitted-blocks': 'uncommitted blocks of',
  object: 'object without manifest',
};

/** `1 abandoned run settled, 2 leftovers removed (8.0 MiB)`: what a repair did, in one phrase. */
export function repairSummary(report: RepairReport): string {
  const bytes = report.removed.reduce((sum, item) => sum + (item.sizeBytes ?? 0), 0);
  const parts = [
    `${count(report.settled.length, 'abandoned run')} settled`,
    `${count(report.removed.length, 'leftover')} removed${bytes > 0 ? ` (${formatBytes(bytes)})` : ''}`,
    ...(report.failed.length ? [`${report.failed.length} could not be removed`] : []),
  ];
  return parts.join(', ');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** One line per thing a repair settled, removed, failed to remove or could not see. */
export function repairLines(report: RepairReport): string[] {
  return [
    ...report.settled.map((run) => `settled  ${run.kind} ${run.runId} of job ${run.job} as ${run.status}: ${run.reason}`),
    ...report.removed.map((item) => `removed  ${describeItem(item)}`),
    ...report.failed.map((item) => `failed   ${describeItem(item)}: ${item.error}`),
    ...report.notes.map((note) => `note     ${note}`),
  ];
}

function describeItem(item: SweptItem): string {
  const id = item.kind === 'multipart-upload' && item.id ? ` ${item.id}` : '';
  const name = item.kind === 'temp-file' && item.id ? `${item.key.slice(0, item.key.lastIndexOf('/') + 1)}${item.id}` : item.key;
  const size = item.sizeBytes !== undefined && item.kind !== 'empty-folder' ? ` (${formatBytes(item.sizeBytes)})` : '';
  return `${KIND_NAMES[item.kind]}${id} ${name}${size}`;
}
