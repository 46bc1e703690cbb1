import { isMap, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../../core/errors.js';

/** What the guided "add a job" form asks for: the fields a job cannot do without. */
export interface NewJob {
  readonly environment: string;
  readonly name: string;
  readonly source: string;
  readonly cron: string;
  /** `26h`, `7d`…; absent: the environment's default. */
  readonly rpo?: string;
}

/**
 * The config text with one more job, through the `yaml` Document API so that everything else
 * in the file — comments, key order, quoting, blank lines — stays as the user wrote it. The
 * caller validates the result (validate-config.ts) before writing it: this only edits.
 */
export function withNewJob(text: string, job: NewJob): string {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new ConfigError(`the config is not valid YAML (${document.errors[0]!.message.split('\n')[0]}): fix it first, then add the job`);
  const jobs = jobsOf(document, job.environment);
  if (jobs.has(job.name)) throw new ConfigError(`environment ${job.environment} already has a job "${job.name}": choose another name`);
  // The comment goes on the key, above the job's name, where a reader of the file looks.
  const name = document.createNode(job.name);
  name.commentBefore = ' added by vaultra tui';
  jobs.add(document.createPair(name, { source: job.source, schedule: { cron: job.cron }, ...(job.rpo ? { rpo: job.rpo } : {}) }));
  // No folding: a long line the user wrote stays one line (the default would rewrap flow maps past 80 columns).
  return document.toString({ lineWidth: 0 });
}

function jobsOf(document: Document, environment: string) {
  const node = document.getIn(['environments', environment], true);
  if (!isMap(node)) throw new ConfigError(`the config has no environment "${environment}": add the job to one it has`);
  if (!node.has('jobs')) node.set('jobs', document.createNode({}));
  const jobs = node.get('jobs', true);
  if (!isMap(jobs)) throw new ConfigError(`environments.${environment}.jobs is not a map of jobs: fix it first, then add the job`);
  // `jobs: {}` written inline would keep the new job inline too: a block reads better.
  jobs.flow = false;
  return jobs;
}
