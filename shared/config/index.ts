// Cluster configuration: flags, environment and a JSON file in; one validated, readonly object per
// process kind out. Precedence: flag > SLUICE_<NAME> environment variable > --config file > default.

export {
  resolveCoordinatorConfig,
  COORDINATOR_USAGE,
  COORDINATOR_FLAGS,
  COORDINATOR_FIELDS,
  COORDINATOR_DEFAULTS,
  MIN_CHECKPOINT_INTERVAL_MS,
  type CoordinatorConfig,
} from './coordinator-config.ts';
export {
  resolveWorkerConfig,
  WORKER_USAGE,
  WORKER_FLAGS,
  WORKER_FIELDS,
  WORKER_DEFAULTS,
  type WorkerConfig,
} from './worker-config.ts';
export { STATE_BACKEND_KINDS, DEFAULT_CACHE_CAPACITY_ENTRIES, type StateBackendKind } from './state-backend.ts';
export { parseFlags, CLUSTER_FLAGS, type ParsedFlags } from './flags.ts';
export { describeConfig, REDACTED } from './describe-config.ts';
export {
  envNameOf,
  flagNameOf,
  type ConfigSources,
  type ConfigFieldSpec,
  type FlagSpec,
  type ValueOrigin,
  type ConfigValueSource,
} from './config-sources.ts';
export { MIN_CLUSTER_TOKEN_LENGTH } from './config-values.ts';
export { configurationErrorFromZod, type ZodFieldNaming } from './configuration-error-from-zod.ts';
