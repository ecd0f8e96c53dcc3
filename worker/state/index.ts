// Keyed state backends: the contract operators use (keyed-state-backend.ts), its two
// implementations (heap and LevelDB) and one factory that picks by kind. Snapshots are
// backend-independent, so a job can move between kinds and parallelisms.

import { ConfigurationError } from '../../shared/errors.ts';
import type { KeyedStateBackend, KeyedStateBackendOptions, StateBackendKind } from './keyed-state-backend.ts';
import { InMemoryKeyedStateBackend } from './memory-state-backend.ts';
import { LevelDbKeyedStateBackend, type LevelDbKeyedStateBackendOptions } from './leveldb-state-backend.ts';

export * from './keyed-state-backend.ts';
export { InMemoryKeyedStateBackend } from './memory-state-backend.ts';
export { isExpired, stateTtlPolicy, type StateTtlPolicy, type TtlValue } from './state-ttl.ts';
export { DEFAULT_CACHE_CAPACITY_ENTRIES } from '../../shared/config/state-backend.ts';
export {
  defaultFlushThresholdEntries,
  LevelDbKeyedStateBackend,
  type LevelDbKeyedStateBackendOptions,
  type LevelDbKeyedStateBackendStatus,
} from './leveldb-state-backend.ts';

/** Options for any kind; the LevelDB tuning fields are ignored by the in-memory backend. */
export type AnyKeyedStateBackendOptions = KeyedStateBackendOptions &
  Partial<Pick<LevelDbKeyedStateBackendOptions, 'cacheCapacityEntries' | 'flushThresholdEntries' | 'blockCacheBytes'>>;

export async function createKeyedStateBackend(
  kind: StateBackendKind,
  options: AnyKeyedStateBackendOptions,
): Promise<KeyedStateBackend> {
  switch (kind) {
    case 'memory':
      return new InMemoryKeyedStateBackend(options);
    case 'leveldb': {
      const { workingDirectory } = options;
      if (workingDirectory === undefined) {
        throw new ConfigurationError('workingDirectory', 'the LevelDB state backend needs a working directory');
      }
      return LevelDbKeyedStateBackend.create({ ...options, workingDirectory });
    }
    default:
      throw new ConfigurationError('stateBackend', `unknown state backend kind ${JSON.stringify(kind satisfies never)}`);
  }
}
