// The client commands that talk to a coordinator's REST API: submit, list, status, cancel, stop,
// snapshot, snapshots, rescale.
// The coordinator is found with --coordinator / SLUICE_COORDINATOR_URL (default
// http://127.0.0.1:8081); the token with --cluster-token / SLUICE_CLUSTER_TOKEN or
// --cluster-token-file / SLUICE_CLUSTER_TOKEN_FILE. A standby answers with the leader's address,
// which the client follows.

import { jobsTable, jobText } from './job-output.ts';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError, SluiceError } from '../shared/errors.ts';

export const CLIENT_USAGE = `Usage:
  sluice submit <app.ts|app.zip|s3://bucket/key[?versionId=v]> [--parallelism N] [--max-parallelism N] [--job-name NAME] [--property group.key=value ...]
                [--restore SNAPSHOT-NAME|PATH] [--allow-non-restored-state] [--state-backend memory|leveldb]
  sluice list [--output table|json]
  sluice status <job-id> [--output table|json]
  sluice cancel <job-id>
  sluice stop <job-id> [--snapshot [--name NAME]]
                                (a last checkpoint commits the sinks, then the job stops; --snapshot keeps it)
  sluice snapshot <job-id> [--name NAME]
                                take a snapshot (savepoint) of a running job
  sluice snapshots [list | describe NAME | delete NAME]
  sluice rescale <job-id> --parallelism N
                                change a running job's parallelism (its state moves with its key groups)

Options (every client command):
  --coordinator URL             REST address of a coordinator (env SLUICE_COORDINATOR_URL; default http://127.0.0.1:8081)
  --cluster-token TOKEN         (env SLUICE_CLUSTER_TOKEN)
  --cluster-token-file PATH     (env SLUICE_CLUSTER_TOKEN_FILE)
  --output table|json           list and status: a table (default) or the REST API's JSON; the others print JSON
`;

interface ClientOptions {
  readonly coordinator: string;
  readonly token: string | undefined;
  /** Follow a standby's pointer to the leader (default); off to ask exactly this coordinator. */
  readonly followLeader?: boolean;
  /**
   * How long a request that can safely be sent again is retried while no leader answers (an
   * election, a leader that lost its lease mid-request); default 30 s, 0 for one try. A call
   * that asks exactly one coordinator (`followLeader: false`) takes its answer: no retry.
   */
  readonly retryForMs?: number;
}

export class ClusterRequestError extends SluiceError {
  override readonly domain = 'user' as const;
  constructor(
    message: string,
    readonly status: number,
    /** The error's type as the coordinator named it (NotLeaderError: a standby refused, nothing was done). */
    readonly type?: string,
  ) {
    super(message);
  }
}

/** Flags that take no value. */
const SWITCHES = new Set(['snapshot', 'allow-non-restored-state']);

function parseArgs(args: readonly string[]): { positionals: string[]; flags: Map<string, string[]> } {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq > 0 ? arg.slice(eq + 1) : SWITCHES.has(name) ? 'true' : args[++i];
    if (value === undefined) throw new ConfigurationError(`--${name}`, 'needs a value');
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positionals, flags };
}

const KNOWN_FLAGS = new Set([
  'coordinator',
  'cluster-token',
  'cluster-token-file',
  'parallelism',
  'max-parallelism',
  'job-name',
  'property',
  'restore',
  'allow-non-restored-state',
  'state-backend',
  'snapshot',
  'name',
  'output',
]);

function clientOptions(flags: Map<string, string[]>, env: NodeJS.ProcessEnv): ClientOptions {
  for (const name of flags.keys()) if (!KNOWN_FLAGS.has(name)) throw new ConfigurationError(`--${name}`, `unknown option\n\n${CLIENT_USAGE}`);
  const coordinator = flags.get('coordinator')?.[0] ?? env.SLUICE_COORDINATOR_URL ?? 'http://127.0.0.1:8081';
  let token = flags.get('cluster-token')?.[0] ?? env.SLUICE_CLUSTER_TOKEN;
  const tokenFile = flags.get('cluster-token-file')?.[0] ?? env.SLUICE_CLUSTER_TOKEN_FILE;
  if (token === undefined && tokenFile !== undefined) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (error) {
      throw new ConfigurationError('--cluster-token-file', `cannot read ${tokenFile}: ${(error as Error).message}`);
    }
  }
  return { coordinator: coordinator.includes('://') ? coordinator : `http://${coordinator}`, token };
}

/** How long a coordinator that refuses connections (not listening) is asked again. */
const REFUSED_RETRY_MS = 2_000;

/**
 * Whether sending a request again cannot do anything twice: reads, and a submission that carries
 * an idempotency key (the leader answers a second submission of a key with the job of the first).
 */
export function isIdempotent(method: string, path: string, body: unknown): boolean {
  if (method === 'GET') return true;
  return method === 'POST' && path === '/v1/jobs' && typeof (body as { idempotencyKey?: unknown } | undefined)?.idempotencyKey === 'string';
}

/**
 * One REST call. A standby's answer names the leader: the call goes there. While no leader
 * answers (an election, or a leader that lost its lease mid-request and answered 503), a call
 * that can safely be sent again is retried until `retryForMs`; any other call is retried only
 * when a standby refused it, which did nothing.
 */
export async function restCall(options: ClientOptions, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<any> {
  const idempotent = isIdempotent(method, path, body);
  const startedAt = Date.now();
  const deadline = Date.now() + (options.retryForMs ?? (options.followLeader === false ? 0 : 30_000));
  let base = options.coordinator;
  let delayMs = 200;
  let follows = 0;
  const again = async (): Promise<boolean> => {
    if (Date.now() + delayMs > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 2_000);
    return true;
  };
  for (;;) {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (error) {
      // The request may have reached a leader that died before answering: only an idempotent one
      // goes again. Nothing listening (refused) is asked again only briefly: a coordinator that
      // restarts is back within a second or two, one that is not running should be said at once.
      const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
      if (idempotent && !(refused && Date.now() - startedAt > REFUSED_RETRY_MS) && (await again())) {
        base = options.coordinator;
        continue;
      }
      throw new ClusterRequestError(`cannot reach the coordinator at ${base}: ${(error as Error).message} (is it running? see sluice coordinator --help)`, 0);
    }
    const text = await response.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { error: text };
    }
    if (response.status === 503) {
      const leader = typeof json.leader === 'string' ? `http://${json.leader}` : undefined;
      if (leader !== undefined && leader !== base && options.followLeader !== false && follows++ < 4) {
        base = leader;
        continue;
      }
      const refusedByStandby = json.type === 'NotLeaderError';
      if ((idempotent || refusedByStandby) && (await again())) {
        base = options.coordinator;
        continue;
      }
    }
    if (!response.ok) throw new ClusterRequestError(`${method} ${path}: ${response.status} ${json.error ?? response.statusText}`, response.status, typeof json.type === 'string' ? json.type : undefined);
    return json;
  }
}

function parseProperties(values: readonly string[]): Record<string, Record<string, string>> {
  const properties: Record<string, Record<string, string>> = {};
  for (const value of values) {
    const match = /^([^.=]+)\.([^=]+)=(.*)$/.exec(value);
    if (!match) throw new ConfigurationError('--property', `"${value}" is not group.key=value`);
    (properties[match[1]!] ??= {})[match[2]!] = match[3]!;
  }
  return properties;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigurationError(`--${flag}`, `"${value}" is not a positive integer`);
  return n;
}

/** A snapshot name stays a name; a path is made absolute (the coordinator and workers read it). */
function restoreArgument(value: string): string {
  return value.includes('/') || value.startsWith('.') ? resolve(value) : value;
}

/** Runs a client command; prints JSON to stdout (list and status: a table unless --output json). */
export async function clientCommand(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { positionals, flags } = parseArgs(args);
  const options = clientOptions(flags, env);
  const output = flags.get('output')?.[0] ?? 'table';
  if (output !== 'table' && output !== 'json') throw new ConfigurationError('--output', `table or json, got "${output}"`);
  const asTable = output === 'table' && (command === 'list' || command === 'status');
  const needJob = () => {
    const id = positionals[0];
    if (!id) throw new ConfigurationError('<job-id>', `missing\n\n${CLIENT_USAGE}`);
    return encodeURIComponent(id);
  };
  let result: unknown;
  switch (command) {
    case 'submit': {
      const app = positionals[0];
      if (!app) throw new ConfigurationError('<app.ts>', `missing\n\n${CLIENT_USAGE}`);
      const parallelism = positiveInt('parallelism', flags.get('parallelism')?.[0]);
      const maxParallelism = positiveInt('max-parallelism', flags.get('max-parallelism')?.[0]);
      result = await restCall(options, 'POST', '/v1/jobs', {
        // A retry after a leadership change must not submit the job twice.
        idempotencyKey: randomUUID(),
        // An archive in S3 is read by every process from there; a local path is made absolute for the workers.
        application: app.startsWith('s3://') ? app : resolve(app),
        ...(parallelism ? { parallelism } : {}),
        ...(maxParallelism ? { maxParallelism } : {}),
        ...(flags.get('job-name') ? { jobName: flags.get('job-name')![0] } : {}),
        properties: parseProperties(flags.get('property') ?? []),
        ...(flags.get('restore') ? { restoreFrom: restoreArgument(flags.get('restore')![0]!) } : {}),
        ...(flags.has('allow-non-restored-state') ? { allowNonRestoredState: true } : {}),
        ...(flags.get('state-backend') ? { stateBackend: flags.get('state-backend')![0] } : {}),
      });
      break;
    }
    case 'snapshot':
      result = await restCall(options, 'POST', `/v1/jobs/${needJob()}/snapshots`, flags.get('name') ? { name: flags.get('name')![0] } : {});
      break;
    case 'snapshots': {
      const [action = 'list', name] = positionals;
      if (action === 'list') result = await restCall(options, 'GET', '/v1/snapshots');
      else if ((action === 'describe' || action === 'delete') && name) {
        result = await restCall(options, action === 'delete' ? 'DELETE' : 'GET', `/v1/snapshots/${encodeURIComponent(name)}`);
      } else throw new ConfigurationError('snapshots', `expected list, describe NAME or delete NAME\n\n${CLIENT_USAGE}`);
      break;
    }
    case 'rescale': {
      const parallelism = positiveInt('parallelism', flags.get('parallelism')?.[0]);
      if (parallelism === undefined) throw new ConfigurationError('--parallelism', `missing\n\n${CLIENT_USAGE}`);
      result = await restCall(options, 'POST', `/v1/jobs/${needJob()}/rescale`, { parallelism });
      break;
    }
    case 'list':
      result = await restCall(options, 'GET', '/v1/jobs');
      break;
    case 'status':
      result = await restCall(options, 'GET', `/v1/jobs/${needJob()}`);
      break;
    case 'cancel':
      result = await restCall(options, 'POST', `/v1/jobs/${needJob()}/cancel`);
      break;
    case 'stop':
      result = await restCall(options, 'POST', `/v1/jobs/${needJob()}/stop`, {
        ...(flags.has('snapshot') ? { snapshot: true } : {}),
        ...(flags.get('name') ? { name: flags.get('name')![0] } : {}),
      });
      break;
    default:
      throw new ConfigurationError('command', `unknown client command ${command}`);
  }
  if (asTable) process.stdout.write(command === 'list' ? jobsTable(result as Parameters<typeof jobsTable>[0]) : jobText(result as Parameters<typeof jobText>[0]));
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
