// The keyed state backends a job can run on, as configuration names them (the worker's
// --state-backend, a submission's stateBackend), and the LevelDB backend's default cache size,
// which the worker's usage text shows.

export type StateBackendKind = 'memory' | 'leveldb';
export const STATE_BACKEND_KINDS: readonly StateBackendKind[] = ['memory', 'leveldb'];

/** LevelDB backend: values each keyed subtask keeps deserialized in memory, unless configured. */
export const DEFAULT_CACHE_CAPACITY_ENTRIES = 100_000;
