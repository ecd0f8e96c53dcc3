// `sluice run` options: parsed from the command line once, validated (every error names its
// flag), defaults applied, and returned as one readonly object the rest of the code reads.

import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import type { ApplicationProperties } from '../shared/api/environment.ts';
import { parseDurationMs } from '../shared/api/time.ts';
import { configurationErrorFromZod } from '../shared/config/configuration-error-from-zod.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { parseCommandArgs } from './command-args.ts';
import { UPPER_BOUND_MAX_PARALLELISM } from '../shared/key-groups.ts';

export const RUN_USAGE = `Usage: sluice run <app.ts|app.js> [options]

Runs a Sluice application in embedded mode: one process, no external service.

Options:
  --parallelism N               default parallelism of every operator (default 1; the
                                application's own setParallelism wins)
  --max-parallelism N           number of key groups, 1..32768 (default: Flink's rule,
                                min(max(nextPow2(1.5 * parallelism), 128), 32768));
                                must stay the same across restores
  --state-backend KIND          memory | leveldb (default memory)
  --state-dir DIR               where the leveldb backend keeps its working files
                                (default: a directory under the system temp dir)
  --checkpoint-interval D       periodic checkpoints, e.g. 500ms, 10s, 1m; "off" for only the
                                final checkpoint of a bounded job (default 60s, as Managed Flink)
  --checkpoint-dir DIR|URL      where checkpoints go: a folder or s3://bucket/prefix (endpoint
                                and credentials from SLUICE_S3_* or the usual AWS settings;
                                default .sluice/checkpoints/<job-name>)
  --s3-endpoint URL             endpoint of an S3-compatible store for s3:// locations (default
                                SLUICE_S3_ENDPOINT, AWS_ENDPOINT_URL, else AWS itself)
  --s3-region REGION            region of s3:// locations (default SLUICE_S3_REGION, AWS_REGION)
  --retained-checkpoints N      completed checkpoints to keep (default 3)
  --restore WHAT                "latest" (the newest checkpoint in --checkpoint-dir), or the path
                                or s3:// URL of a checkpoint (…/chk-N), a snapshot, or a job's
                                checkpoint folder (its newest checkpoint)
  --allow-non-restored-state    skip state of operators the application no longer has
  --property GROUP.KEY=VALUE    a runtime property, repeatable; the application receives them as
                                properties[GROUP][KEY]
  --job-name NAME               default: the application file's name
  --dead-letter-path FILE       where unreadable records go, one JSON line each
                                (default .sluice/dead-letter/<job-name>.jsonl)
  --metrics-port PORT           serve Prometheus metrics (the functions' own, getMetricGroup(),
                                and the process's) at http://HOST:PORT/metrics; 0 picks a port
  --metrics-host HOST           the address it listens on (default 127.0.0.1)
  --help                        this text

A bounded job ends when its sources end, commits its output and exits 0. An unbounded job runs
until Ctrl-C (SIGINT) or SIGTERM: it takes a last checkpoint, commits and exits 0.
`;

export interface RunOptions {
  readonly application: string;
  readonly jobName: string;
  readonly parallelism: number | undefined;
  readonly maxParallelism: number | undefined;
  readonly stateBackend: 'memory' | 'leveldb';
  readonly stateDirectory: string | undefined;
  readonly checkpointIntervalMs: number | undefined;
  readonly checkpointDirectory: string;
  readonly retainedCheckpoints: number;
  readonly restore: 'latest' | { readonly checkpointPath: string } | undefined;
  readonly allowNonRestoredState: boolean;
  readonly properties: ApplicationProperties;
  readonly deadLetterPath: string;
  readonly s3Endpoint: string | undefined;
  readonly s3Region: string | undefined;
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
}

// Messages leave out the flag: the error names it (`--parallelism: must be …`).
const positiveInteger = (max?: number) =>
  z.string().transform((text, ctx) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1 || (max !== undefined && n > max)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be an integer from 1${max ? ` to ${max}` : ''}, got "${text}"` });
      return z.NEVER;
    }
    return n;
  });

const runFlagsSchema = z.object({
  parallelism: positiveInteger(UPPER_BOUND_MAX_PARALLELISM).optional(),
  'max-parallelism': positiveInteger(UPPER_BOUND_MAX_PARALLELISM).optional(),
  'state-backend': z
    .string()
    .refine((v) => v === 'memory' || v === 'leveldb', (v) => ({ message: `must be "memory" or "leveldb", got "${v}"` }))
    .optional(),
  'state-dir': z.string().min(1).optional(),
  'checkpoint-interval': z
    .string()
    .transform((text, ctx) => {
      if (text === 'off') return undefined;
      const ms = parseDurationMs(text);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be a duration like 500ms, 10s or 1m, or "off", got "${text}"` });
        return z.NEVER;
      }
      return ms;
    })
    .optional(),
  'checkpoint-dir': z.string().min(1, 'must not be empty').optional(),
  'retained-checkpoints': positiveInteger().optional(),
  's3-endpoint': z.string().regex(/^https?:\/\/[^/]+/, 'must be an http:// or https:// URL').optional(),
  's3-region': z.string().min(1, 'must not be empty').optional(),
  restore: z.string().min(1, 'must be "latest" or the location of a checkpoint or snapshot').optional(),
  'allow-non-restored-state': z.boolean().optional(),
  property: z.array(z.string()).optional(),
  'job-name': z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may contain letters, digits, ".", "_" and "-" and must start with a letter or digit')
    .optional(),
  'dead-letter-path': z.string().min(1).optional(),
  'metrics-port': z
    .string()
    .regex(/^\d+$/, 'must be a port number from 0 to 65535 (0 picks a free one)')
    .transform(Number)
    .refine((port) => port <= 65_535, 'must be a port number from 0 to 65535 (0 picks a free one)')
    .optional(),
  'metrics-host': z.string().min(1, 'must not be empty').optional(),
});

export function parseProperties(entries: readonly string[]): ApplicationProperties {
  const groups: Record<string, Record<string, string>> = {};
  for (const entry of entries) {
    const match = /^([^.=\s]+)\.([^=\s]+)=(.*)$/s.exec(entry);
    if (!match) throw new ConfigurationError('--property', `expected GROUP.KEY=VALUE, got "${entry}"`);
    const [, group, key, value] = match as unknown as [string, string, string, string];
    (groups[group] ??= {})[key] = value;
  }
  return groups;
}

/** Parses `sluice run` arguments; throws ConfigurationError naming the flag on bad input. */
export function parseRunOptions(args: readonly string[]): RunOptions | 'help' {
  const parsed = parseCommandArgs(
    args,
    {
      parallelism: { type: 'string' },
      'max-parallelism': { type: 'string' },
      'state-backend': { type: 'string' },
      'state-dir': { type: 'string' },
      'checkpoint-interval': { type: 'string' },
      'checkpoint-dir': { type: 'string' },
      'retained-checkpoints': { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-region': { type: 'string' },
      restore: { type: 'string' },
      'allow-non-restored-state': { type: 'boolean' },
      property: { type: 'string', multiple: true },
      'job-name': { type: 'string' },
      'dead-letter-path': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'run',
  );
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length !== 1) {
    throw new ConfigurationError('application', parsed.positionals.length === 0 ? 'give the application file: sluice run app.ts' : `expected one application file, got ${parsed.positionals.join(' ')}`);
  }
  const { help: _help, ...flags } = parsed.values;
  const result = runFlagsSchema.safeParse(flags);
  if (!result.success) throw configurationErrorFromZod(result.error, (path) => `--${String(path[0] ?? 'arguments')}`);
  const f = result.data;
  const application = parsed.positionals[0]!;
  const jobName = f['job-name'] ?? basename(application, extname(application)).replace(/[^A-Za-z0-9._-]/g, '-');
  const restore = f.restore === undefined ? undefined : f.restore === 'latest' ? 'latest' : { checkpointPath: f.restore };
  if (f['metrics-host'] !== undefined && f['metrics-port'] === undefined) throw new ConfigurationError('--metrics-host', 'serves nothing without --metrics-port');
  return {
    application,
    jobName,
    parallelism: f.parallelism,
    maxParallelism: f['max-parallelism'],
    stateBackend: (f['state-backend'] as 'memory' | 'leveldb' | undefined) ?? 'memory',
    stateDirectory: f['state-dir'],
    checkpointIntervalMs: 'checkpoint-interval' in f ? f['checkpoint-interval'] : 60_000,
    checkpointDirectory: f['checkpoint-dir'] ?? join('.sluice', 'checkpoints', jobName),
    retainedCheckpoints: f['retained-checkpoints'] ?? 3,
    restore,
    allowNonRestoredState: f['allow-non-restored-state'] ?? false,
    properties: parseProperties(f.property ?? []),
    deadLetterPath: f['dead-letter-path'] ?? join('.sluice', 'dead-letter', `${jobName}.jsonl`),
    s3Endpoint: f['s3-endpoint'],
    s3Region: f['s3-region'],
    metrics: f['metrics-port'] === undefined ? undefined : { host: f['metrics-host'] ?? '127.0.0.1', port: f['metrics-port'] },
  };
}
