// Runs the keyed state backend contract against the in-memory backend, plus what only it promises.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyGroupRange } from '../../shared/key-groups.ts';
import { ConfigurationError } from '../../shared/errors.ts';
import { VOID_NAMESPACE } from './keyed-state-backend.ts';
import { InMemoryKeyedStateBackend } from './memory-state-backend.ts';
import { createKeyedStateBackend } from './index.ts';
import { runKeyedStateBackendContract } from './keyed-state-backend.contract.ts';

runKeyedStateBackendContract('in-memory', async (options) => new InMemoryKeyedStateBackend(options));

describe('InMemoryKeyedStateBackend', () => {
  it('is what the factory builds for kind memory', async () => {
    const backend = await createKeyedStateBackend('memory', { keyGroupRange: KeyGroupRange.of(0, 127), maxParallelism: 128 });
    assert.ok(backend instanceof InMemoryKeyedStateBackend);
    assert.equal(backend.kind, 'memory');
    await backend.dispose();
  });

  it('rejects options that cannot describe a subtask', () => {
    assert.throws(() => new InMemoryKeyedStateBackend({ keyGroupRange: KeyGroupRange.of(0, 128), maxParallelism: 128 }), ConfigurationError);
    assert.throws(() => new InMemoryKeyedStateBackend({ keyGroupRange: KeyGroupRange.of(0, 1), maxParallelism: 0 }), ConfigurationError);
  });

  it('rejects a snapshot holding a value that cannot be serialized, naming the cause', async () => {
    const backend = new InMemoryKeyedStateBackend({ keyGroupRange: KeyGroupRange.of(0, 127), maxParallelism: 128 });
    backend.setCurrentKey('k', 1);
    backend.getTable<unknown>('bad').put(VOID_NAMESPACE, { callback: () => 1 });
    await assert.rejects(backend.snapshot(), /cannot be serialized/);
    await backend.dispose();
  });
});
