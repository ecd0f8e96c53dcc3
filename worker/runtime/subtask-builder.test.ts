// buildSubtasks hands the worker's LevelDB tuning (--state-cache-entries) to every keyed subtask's
// backend, and has source subtasks without a split say they are idle before anything runs.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import { ManualClock } from '../../shared/clock.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { LevelDbKeyedStateBackend } from '../state/leveldb-state-backend.ts';
import { ScriptedBoundedSource } from '../testing/scripted-bounded-source.ts';
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

  it('has every source subtask without a split say it is idle before any subtask reads, at watermark interval 0', async () => {
    const env = new StreamExecutionEnvironment().setParallelism(3);
    env
      .fromSource(new ScriptedBoundedSource([1, 2, 3]), WatermarkStrategy.forMonotonousTimestamps<number>(), 'Scripted')
      .keyBy((x) => x % 2)
      .reduce((a, b) => a + b)
      .sinkTo(new CollectSink<number>());
    const built = await buildSubtasks({
      plan: planJob(env.graph, env.settings, { jobName: 'one-split', maxParallelism: 128 }),
      properties: {},
      clock: new ManualClock(),
      stateBackend: 'memory',
      deadLetters: new InMemoryDeadLetterOutput(),
      watermarkIntervalMs: 0,
      listener: { acknowledgeCheckpoint: () => {} },
    });
    try {
      const consumers = built.tasks.filter((t) => !t.source);
      assert.equal(consumers.length, 3);
      // One split: source subtask 0 reads it, subtasks 1 and 2 have none.
      for (const task of consumers) {
        assert.deepEqual(
          task.channels.map((ch) => [ch.description, ch.peek()]),
          [['Source: Scripted#0', undefined], ['Source: Scripted#1', { kind: 'idle', idle: true }], ['Source: Scripted#2', { kind: 'idle', idle: true }]],
          task.name,
        );
      }
    } finally {
      for (const task of built.tasks) await task.close();
      for (const backend of built.backends) await backend.dispose();
    }
  });
});
