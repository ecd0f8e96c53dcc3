// The coordinator's configuration: options in (flags, environment, config file), one readonly
// resolved object out. Validated once, here; the rest of the coordinator reads only the result.

import { ConfigurationError } from '../errors.ts';
import { DEFAULT_RESTART_STRATEGY, parseRestartStrategy, type RestartStrategyConfig } from './restart-strategy-config.ts';
import { CLUSTER_TOKEN_FIELDS, resolveClusterToken } from './cluster-token.ts';
import { OBJECT_STORE_FIELDS } from './object-store-fields.ts';
import {
  deepFreeze,
  flagSpecsOf,
  formatUsage,
  resolveFields,
  type ConfigFieldSpec,
  type ConfigSources,
  type ValueOrigin,
} from './config-sources.ts';
import { defaultProcessId, durationMs, etcdEndpoint, host, integer, list, port, processId, subdirectory, text } from './config-values.ts';

export interface CoordinatorConfig {
  readonly id: string;
  /** Address the RPC, REST and metrics servers bind to. */
  readonly host: string;
  readonly rpcPort: number;
  readonly restPort: number;
  /** 0 picks a free port. */
  readonly metricsPort: number;
  /** `http(s)://host:port` of each etcd member; undefined: embedded (in-process) leader election. */
  readonly etcdEndpoints: readonly string[] | undefined;
  readonly leaseTtlSeconds: number;
  /** Undefined only when allowUnauthenticated. */
  readonly clusterToken: string | undefined;
  /** Where the token was read from, if from a file. */
  readonly clusterTokenFile: string | undefined;
  readonly allowUnauthenticated: boolean;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly checkpointDirectory: string;
  readonly checkpointIntervalMs: number;
  readonly minPauseBetweenCheckpointsMs: number;
  readonly retainedCheckpoints: number;
  readonly checkpointTimeoutMs: number;
  /** Consecutive failed checkpoints a job tolerates; one more fails the attempt, which restarts. */
  readonly tolerableFailedCheckpoints: number;
  readonly snapshotDirectory: string;
  readonly restartStrategy: RestartStrategyConfig;
  /** How long a new leader waits for workers to re-register before it decides what runs where. */
  readonly workerRegistrationGraceMs: number;
  readonly dataDirectory: string;
  /** Where s3:// locations are served from (OBJECT_STORE_FIELDS). */
  readonly s3Endpoint: string | undefined;
  readonly s3Region: string | undefined;
  /** The access keys of the applications API (kinesisanalyticsv2); undefined: that API is off. */
  readonly apiKeysFile: string | undefined;
  /** The region and account in application ARNs. */
  readonly apiRegion: string;
  readonly apiAccountId: string;
  /** How often the autoscaler samples each application with AutoScalingEnabled. */
  readonly autoscalingIntervalMs: number;
}

export const COORDINATOR_DEFAULTS = {
  host: '127.0.0.1',
  rpcPort: 6123,
  restPort: 8081,
  metricsPort: 9249,
  leaseTtlSeconds: 10,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 5_000,
  // Managed Flink's: a checkpoint every 60 s, at least 5 s apart, one at a time.
  checkpointIntervalMs: 60_000,
  minPauseBetweenCheckpointsMs: 5_000,
  retainedCheckpoints: 3,
  autoscalingIntervalMs: 5_000,
  checkpointTimeoutMs: 10 * 60_000,
  tolerableFailedCheckpoints: 3,
  dataDirectory: './sluice-data',
  apiRegion: 'us-east-1',
  apiAccountId: '000000000000',
} as const;

/** Flink's lower bound on the checkpoint interval. */
export const MIN_CHECKPOINT_INTERVAL_MS = 10;

const fields = {
  id: {
    valueName: 'ID',
    description: 'This coordinator\'s id, unique in the cluster.',
    defaultText: 'coordinator-<hostname>-<pid>',
    parse: processId,
  } satisfies ConfigFieldSpec<string>,
  host: { valueName: 'HOST', description: 'Address to bind and advertise.', defaultText: COORDINATOR_DEFAULTS.host, parse: host } satisfies ConfigFieldSpec<string>,
  rpcPort: { valueName: 'PORT', description: 'Port workers and other coordinators call (gRPC).', defaultText: String(COORDINATOR_DEFAULTS.rpcPort), parse: port } satisfies ConfigFieldSpec<number>,
  restPort: { valueName: 'PORT', description: 'Port of the REST API and web UI.', defaultText: String(COORDINATOR_DEFAULTS.restPort), parse: port } satisfies ConfigFieldSpec<number>,
  metricsPort: { valueName: 'PORT', description: 'Port of the Prometheus endpoint /metrics; 0 picks a free one.', defaultText: String(COORDINATOR_DEFAULTS.metricsPort), parse: port } satisfies ConfigFieldSpec<number>,
  etcdEndpoints: {
    valueName: 'LIST',
    description: 'Comma-separated etcd endpoints (host:port or http(s)://host:port) for leader election and the registry.',
    defaultText: 'none, which means embedded, in-process election (a single coordinator)',
    parse: list(etcdEndpoint),
  } satisfies ConfigFieldSpec<readonly string[]>,
  leaseTtlSeconds: { valueName: 'N', description: 'TTL of the leader lease in etcd, seconds.', defaultText: String(COORDINATOR_DEFAULTS.leaseTtlSeconds), parse: integer(1) } satisfies ConfigFieldSpec<number>,
  ...CLUSTER_TOKEN_FIELDS,
  ...OBJECT_STORE_FIELDS,
  heartbeatIntervalMs: { valueName: 'MS', description: 'How often workers are expected to heartbeat.', defaultText: String(COORDINATOR_DEFAULTS.heartbeatIntervalMs), parse: durationMs(1) } satisfies ConfigFieldSpec<number>,
  heartbeatTimeoutMs: {
    valueName: 'MS',
    description: 'A worker silent this long is lost; must exceed the heartbeat interval.',
    defaultText: String(COORDINATOR_DEFAULTS.heartbeatTimeoutMs),
    parse: durationMs(1),
  } satisfies ConfigFieldSpec<number>,
  checkpointDirectory: { valueName: 'DIR|URL', description: 'Where checkpoints are written: a folder or s3://bucket/prefix.', defaultText: '<data-directory>/checkpoints', parse: text('a directory') } satisfies ConfigFieldSpec<string>,
  checkpointIntervalMs: {
    valueName: 'MS',
    description: `Time between periodic checkpoints, at least ${MIN_CHECKPOINT_INTERVAL_MS}.`,
    defaultText: String(COORDINATOR_DEFAULTS.checkpointIntervalMs),
    parse: durationMs(MIN_CHECKPOINT_INTERVAL_MS),
  } satisfies ConfigFieldSpec<number>,
  minPauseBetweenCheckpointsMs: {
    valueName: 'MS',
    description: 'Least time between the end of one checkpoint and the start of the next.',
    defaultText: String(COORDINATOR_DEFAULTS.minPauseBetweenCheckpointsMs),
    parse: durationMs(0),
  } satisfies ConfigFieldSpec<number>,
  retainedCheckpoints: { valueName: 'N', description: 'Completed checkpoints kept per job.', defaultText: String(COORDINATOR_DEFAULTS.retainedCheckpoints), parse: integer(1) } satisfies ConfigFieldSpec<number>,
  checkpointTimeoutMs: {
    valueName: 'MS',
    description: 'A checkpoint not complete after this long fails.',
    defaultText: String(COORDINATOR_DEFAULTS.checkpointTimeoutMs),
    parse: durationMs(1),
  } satisfies ConfigFieldSpec<number>,
  tolerableFailedCheckpoints: {
    valueName: 'N',
    description: 'Consecutive failed checkpoints a job tolerates; one more restarts it from the latest checkpoint.',
    defaultText: String(COORDINATOR_DEFAULTS.tolerableFailedCheckpoints),
    parse: integer(0),
  } satisfies ConfigFieldSpec<number>,
  snapshotDirectory: { valueName: 'DIR|URL', description: 'Where snapshots (savepoints) are written: a folder or s3://bucket/prefix.', defaultText: '<data-directory>/snapshots', parse: text('a directory') } satisfies ConfigFieldSpec<string>,
  restartStrategy: {
    valueName: 'JSON',
    description:
      'How failed jobs restart: a kind (none, fixed-delay, exponential-delay, failure-rate) or JSON such as ' +
      '\'{"kind":"fixed-delay","attempts":3,"delayMs":"10s"}\'.',
    defaultText: 'exponential-delay (1 s doubling to 60 s, jitter 0.1, reset after 1 h stable)',
    parse: (raw, label) => parseRestartStrategy(raw, label),
  } satisfies ConfigFieldSpec<RestartStrategyConfig>,
  workerRegistrationGraceMs: {
    valueName: 'MS',
    description: 'How long a new leader waits for workers to re-register before deciding what runs where.',
    defaultText: 'the heartbeat timeout',
    parse: durationMs(0),
  } satisfies ConfigFieldSpec<number>,
  dataDirectory: { valueName: 'DIR', description: 'Directory for the coordinator\'s local data.', defaultText: COORDINATOR_DEFAULTS.dataDirectory, parse: text('a directory') } satisfies ConfigFieldSpec<string>,
  apiKeysFile: {
    valueName: 'PATH',
    description: 'JSON file of the access keys (with their allowed actions and applications) that sign requests to the applications API (kinesisanalyticsv2, on the REST port).',
    defaultText: 'none: the applications API is off',
    parse: text('a file path'),
  } satisfies ConfigFieldSpec<string>,
  apiRegion: { valueName: 'REGION', description: 'The region in application ARNs and request signatures.', defaultText: COORDINATOR_DEFAULTS.apiRegion, parse: text('a region') } satisfies ConfigFieldSpec<string>,
  autoscalingIntervalMs: {
    valueName: 'MS',
    description: 'How often the autoscaler samples each application with AutoScalingEnabled (its rates are measured over this interval).',
    defaultText: String(COORDINATOR_DEFAULTS.autoscalingIntervalMs),
    parse: durationMs(100),
  } satisfies ConfigFieldSpec<number>,
  apiAccountId: { valueName: 'ID', description: 'The account id in application ARNs.', defaultText: COORDINATOR_DEFAULTS.apiAccountId, parse: text('an account id') } satisfies ConfigFieldSpec<string>,
};

export const COORDINATOR_FIELDS: Readonly<typeof fields> = fields;
export const COORDINATOR_FLAGS = flagSpecsOf(fields);
export const COORDINATOR_USAGE = formatUsage('Usage: sluice coordinator [options]\n\nRuns a coordinator (Flink\'s JobManager): leader election, scheduling, checkpoints, REST API.', COORDINATOR_FLAGS);


/** Applies defaults, validates and freezes the coordinator's configuration. */
export function resolveCoordinatorConfig(sources: ConfigSources): CoordinatorConfig {
  const { values: v, origins } = resolveFields(fields, sources);
  const { clusterToken, clusterTokenFile } = resolveClusterToken({ values: v, origins });
  const heartbeatIntervalMs = v.heartbeatIntervalMs ?? COORDINATOR_DEFAULTS.heartbeatIntervalMs;
  const heartbeatTimeoutMs = v.heartbeatTimeoutMs ?? COORDINATOR_DEFAULTS.heartbeatTimeoutMs;
  if (heartbeatTimeoutMs <= heartbeatIntervalMs) {
    const blamed = origins.heartbeatTimeoutMs.source !== 'default' ? origins.heartbeatTimeoutMs : origins.heartbeatIntervalMs;
    throw new ConfigurationError(
      blamed.label,
      `heartbeatTimeoutMs (${heartbeatTimeoutMs}, ${from(origins.heartbeatTimeoutMs)}) must be greater than heartbeatIntervalMs (${heartbeatIntervalMs}, ${from(origins.heartbeatIntervalMs)})`,
    );
  }
  const dataDirectory = v.dataDirectory ?? COORDINATOR_DEFAULTS.dataDirectory;
  return deepFreeze({
    id: v.id ?? defaultProcessId('coordinator'),
    host: v.host ?? COORDINATOR_DEFAULTS.host,
    rpcPort: v.rpcPort ?? COORDINATOR_DEFAULTS.rpcPort,
    restPort: v.restPort ?? COORDINATOR_DEFAULTS.restPort,
    metricsPort: v.metricsPort ?? COORDINATOR_DEFAULTS.metricsPort,
    etcdEndpoints: v.etcdEndpoints,
    leaseTtlSeconds: v.leaseTtlSeconds ?? COORDINATOR_DEFAULTS.leaseTtlSeconds,
    clusterToken,
    clusterTokenFile,
    allowUnauthenticated: v.allowUnauthenticated ?? false,
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    checkpointDirectory: v.checkpointDirectory ?? subdirectory(dataDirectory, 'checkpoints'),
    checkpointIntervalMs: v.checkpointIntervalMs ?? COORDINATOR_DEFAULTS.checkpointIntervalMs,
    minPauseBetweenCheckpointsMs: v.minPauseBetweenCheckpointsMs ?? COORDINATOR_DEFAULTS.minPauseBetweenCheckpointsMs,
    retainedCheckpoints: v.retainedCheckpoints ?? COORDINATOR_DEFAULTS.retainedCheckpoints,
    checkpointTimeoutMs: v.checkpointTimeoutMs ?? COORDINATOR_DEFAULTS.checkpointTimeoutMs,
    tolerableFailedCheckpoints: v.tolerableFailedCheckpoints ?? COORDINATOR_DEFAULTS.tolerableFailedCheckpoints,
    snapshotDirectory: v.snapshotDirectory ?? subdirectory(dataDirectory, 'snapshots'),
    restartStrategy: v.restartStrategy ?? DEFAULT_RESTART_STRATEGY,
    workerRegistrationGraceMs: v.workerRegistrationGraceMs ?? heartbeatTimeoutMs,
    dataDirectory,
    s3Endpoint: v.s3Endpoint,
    s3Region: v.s3Region,
    apiKeysFile: v.apiKeysFile,
    apiRegion: v.apiRegion ?? COORDINATOR_DEFAULTS.apiRegion,
    apiAccountId: v.apiAccountId ?? COORDINATOR_DEFAULTS.apiAccountId,
    autoscalingIntervalMs: v.autoscalingIntervalMs ?? COORDINATOR_DEFAULTS.autoscalingIntervalMs,
  });
}

function from(origin: ValueOrigin): string {
  return origin.source === 'default' ? 'the default' : `from ${origin.label}`;
}
