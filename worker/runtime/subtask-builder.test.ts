// buildSubtasks hands the worker's LevelDB tuning (--state-cache-entries) to every keyed subtask's backend.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment } from '../../shared/api/index.ts';
import { ManualClock } from '../../shared/clock.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { LevelDbKeyedStateBackend } from '../state/leveldb-state-backend.ts';
import { InMemoryDeadLetterOutput } from './dead-letter.ts';
import { planJob } from './job-plan.ts';
import { buildSubtasks } from './subtask-builder.ts';

describe('buildSubtasks', () => {
  it('sizes each LevelDB backend\'s cache as asked, flushing at half of it', async () => {
    const env = new StreamExecutionEnvironment().setParallelism(2);
    env.fromCollection([1, 2, 3]).keyBy((x) => x % 2).reduce((a, b) => a + b).sinkTo(new CollectSink<number>());
    const dir = mkdtempSync(join(tmpdir(), 'sluice-builder-'));
    const built = await buildSubtasks({
      plan: planJob(env.graph, env.settings, { jobName: 'tuning', maxParallelism: 128 }),
      properties: {},
      clock: new ManualClock(),
      stateBackend: 'leveldb',
      stateDirectory: dir,
      stateCacheEntries: 1_000,
      deadLetters: new InMemoryDeadLetterOutput(),
      watermarkIntervalMs: 0,
      listener: { acknowledgeCheckpoint: () => {} },
    });
    try {
      assert.equal(built.backends.length, 2);
      for (const backend of built.backends) {
        assert.ok(backend instanceof LevelDbKeyedStateBackend);
        const { cacheCapacityEntries, flushThresholdEntries } = backend.getStatus();
        assert.deepEqual({ cacheCapacityEntries, flushThresholdEntries }, { cacheCapacityEntries: 1_000, flushThresholdEntries: 500 });
      }
    } finally {
      for (const task of built.tasks) await task.close();
      for (const backend of built.backends) await backend.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
