// The worker's configuration: options in (flags, environment, config file), one readonly
// resolved object out. Mirrors the coordinator's; shared fields mean the same on both sides.

import { CLUSTER_TOKEN_FIELDS, resolveClusterToken } from './cluster-token.ts';
import { OBJECT_STORE_FIELDS } from './object-store-fields.ts';
import { deepFreeze, flagSpecsOf, formatUsage, resolveFields, type ConfigFieldSpec, type ConfigSources } from './config-sources.ts';
import { defaultProcessId, durationMs, host, hostPort, integer, list, oneOf, port, processId, subdirectory, text } from './config-values.ts';
import { ConfigurationError } from '../errors.ts';
import { DEFAULT_CACHE_CAPACITY_ENTRIES, STATE_BACKEND_KINDS, type StateBackendKind } from './state-backend.ts';

export interface WorkerConfig {
  readonly id: string;
  /** Address the worker binds to and advertises to the coordinator and other workers. */
  readonly host: string;
  /** 0 picks a free port (for this and the other ports). */
  readonly rpcPort: number;
  readonly dataPort: number;
  readonly metricsPort: number;
  /** `host:port` of each coordinator's RPC port; the worker finds the leader among them. */
  readonly coordinators: readonly string[];
  /** Undefined only when allowUnauthenticated. */
  readonly clusterToken: string | undefined;
  readonly clusterTokenFile: string | undefined;
  readonly allowUnauthenticated: boolean;
  /** Kinesis Processing Units this worker stands for (1 vCPU, 4 GB each). */
  readonly kpus: number;
  readonly parallelismPerKpu: number;
  /** kpus × parallelismPerKpu. */
  readonly slots: number;
  readonly stateBackend: StateBackendKind;
  readonly stateDirectory: string;
  readonly heartbeatIntervalMs: number;
  /** MiB/s of checkpoint writing; 0: unlimited. */
  readonly checkpointRateLimitMb: number;
  /** LevelDB backend: deserialized values each keyed subtask keeps in memory; undefined: the backend's default. */
  readonly stateCacheEntries: number | undefined;
  /** Where s3:// locations are served from (OBJECT_STORE_FIELDS). */
  readonly s3Endpoint: string | undefined;
  readonly s3Region: string | undefined;
}

export const WORKER_DEFAULTS = {
  host: '127.0.0.1',
  rpcPort: 0,
  dataPort: 0,
  metricsPort: 0,
  kpus: 1,
  parallelismPerKpu: 1,
  stateBackend: 'memory',
  stateRootDirectory: './sluice-data/state',
  heartbeatIntervalMs: 1_000,
  /** Measured on 2 vCPUs with 1 GiB of LevelDB state (npm run bench -- state): a saturated job keeps 90 % of its throughput while a checkpoint runs. */
  checkpointRateLimitMb: 6,
} as const;

const fields = {
  id: { valueName: 'ID', description: 'This worker\'s id, unique in the cluster.', defaultText: 'worker-<hostname>-<pid>', parse: processId } satisfies ConfigFieldSpec<string>,
  host: { valueName: 'HOST', description: 'Address to bind and advertise.', defaultText: WORKER_DEFAULTS.host, parse: host } satisfies ConfigFieldSpec<string>,
  rpcPort: { valueName: 'PORT', description: 'Port the coordinator calls (gRPC); 0 picks a free one.', defaultText: '0', parse: port } satisfies ConfigFieldSpec<number>,
  dataPort: { valueName: 'PORT', description: 'Port other workers send records to; 0 picks a free one.', defaultText: '0', parse: port } satisfies ConfigFieldSpec<number>,
  metricsPort: { valueName: 'PORT', description: 'Port of the Prometheus endpoint /metrics; 0 picks a free one.', defaultText: '0', parse: port } satisfies ConfigFieldSpec<number>,
  coordinators: {
    valueName: 'LIST',
    description: 'Comma-separated host:port of the coordinators\' RPC ports, e.g. 127.0.0.1:6123. Required.',
    parse: list(hostPort),
  } satisfies ConfigFieldSpec<readonly string[]>,
  ...CLUSTER_TOKEN_FIELDS,
  ...OBJECT_STORE_FIELDS,
  kpus: { valueName: 'N', description: 'KPUs this worker provides (1 vCPU, 4 GB each).', defaultText: '1', parse: integer(1) } satisfies ConfigFieldSpec<number>,
  parallelismPerKpu: { valueName: 'N', description: 'Slots per KPU; the worker has kpus × parallelism-per-kpu slots.', defaultText: '1', parse: integer(1) } satisfies ConfigFieldSpec<number>,
  stateBackend: { valueName: 'KIND', description: 'Keyed state: memory or leveldb.', defaultText: WORKER_DEFAULTS.stateBackend, parse: oneOf(STATE_BACKEND_KINDS) } satisfies ConfigFieldSpec<StateBackendKind>,
  stateDirectory: { valueName: 'DIR', description: 'Working directory of the leveldb state backend.', defaultText: `${WORKER_DEFAULTS.stateRootDirectory}/<id>`, parse: text('a directory') } satisfies ConfigFieldSpec<string>,
  heartbeatIntervalMs: { valueName: 'MS', description: 'How often to heartbeat to the coordinator.', defaultText: String(WORKER_DEFAULTS.heartbeatIntervalMs), parse: durationMs(1) } satisfies ConfigFieldSpec<number>,
  checkpointRateLimitMb: {
    valueName: 'MB',
    description:
      'MiB per second this worker writes for checkpoints while its event loop is saturated, so processing keeps its share of the core ' +
      '(with idle time, and for a live rescale\'s checkpoint, at full speed); 0: never limited.',
    defaultText: String(WORKER_DEFAULTS.checkpointRateLimitMb),
    parse: integer(0),
  } satisfies ConfigFieldSpec<number>,
  stateCacheEntries: {
    valueName: 'N',
    description:
      'LevelDB state: values each keyed subtask keeps deserialized in memory (its write-back cache; writes to LevelDB start when half of them are dirty). ' +
      'Size it above the hot set: a hot set larger than half the cache is rewritten to LevelDB continuously.',
    defaultText: String(DEFAULT_CACHE_CAPACITY_ENTRIES),
    parse: integer(1),
  } satisfies ConfigFieldSpec<number>,
};

export const WORKER_FIELDS: Readonly<typeof fields> = fields;
export const WORKER_FLAGS = flagSpecsOf(fields);
export const WORKER_USAGE = formatUsage('Usage: sluice worker [options]\n\nRuns a worker (Flink\'s TaskManager): it registers with the coordinator and runs the\nsubtasks the coordinator deploys to it.', WORKER_FLAGS);

/** Applies defaults, validates and freezes the worker's configuration. */
export function resolveWorkerConfig(sources: ConfigSources): WorkerConfig {
  const { values: v, origins } = resolveFields(fields, sources);
  if (v.coordinators === undefined) {
    throw new ConfigurationError('coordinators', 'required: set --coordinators or SLUICE_COORDINATORS to the coordinators\' host:port, e.g. 127.0.0.1:6123');
  }
  const { clusterToken, clusterTokenFile } = resolveClusterToken({ values: v, origins });
  const id = v.id ?? defaultProcessId('worker');
  const kpus = v.kpus ?? WORKER_DEFAULTS.kpus;
  const parallelismPerKpu = v.parallelismPerKpu ?? WORKER_DEFAULTS.parallelismPerKpu;
  return deepFreeze({
    id,
    host: v.host ?? WORKER_DEFAULTS.host,
    rpcPort: v.rpcPort ?? WORKER_DEFAULTS.rpcPort,
    dataPort: v.dataPort ?? WORKER_DEFAULTS.dataPort,
    metricsPort: v.metricsPort ?? WORKER_DEFAULTS.metricsPort,
    coordinators: v.coordinators,
    clusterToken,
    clusterTokenFile,
    allowUnauthenticated: v.allowUnauthenticated ?? false,
    kpus,
    parallelismPerKpu,
    slots: kpus * parallelismPerKpu,
    stateBackend: v.stateBackend ?? WORKER_DEFAULTS.stateBackend,
    stateDirectory: v.stateDirectory ?? subdirectory(WORKER_DEFAULTS.stateRootDirectory, id),
    heartbeatIntervalMs: v.heartbeatIntervalMs ?? WORKER_DEFAULTS.heartbeatIntervalMs,
    checkpointRateLimitMb: v.checkpointRateLimitMb ?? WORKER_DEFAULTS.checkpointRateLimitMb,
    stateCacheEntries: v.stateCacheEntries,
    s3Endpoint: v.s3Endpoint,
    s3Region: v.s3Region,
  });
}
