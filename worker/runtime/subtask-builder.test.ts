// buildSubtasks hands the worker's LevelDB tuning (--state-cache-entries) to every keyed subtask's
// backend, and has source subtasks without a split say they are idle before anything runs.
// loadRestoreState refuses a checkpoint that does not cover each key group and split once at the
// parallelism it records (the shape a live rescale its leader lost left behind), and restores a
// good one at any parallelism.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Source, SplitState } from '../../shared/api/connectors.ts';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import { ManualClock } from '../../shared/clock.ts';
import { RestoreError } from '../../shared/errors.ts';
import { KeyGroupRange, keyGroupRangeForSubtask } from '../../shared/key-groups.ts';
import { METADATA_FORMAT_VERSION, type OperatorStateMetadata } from '../../shared/checkpoint/checkpoint-metadata.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { SHARED_CHUNK_MIN_BYTES, writeOperatorSnapshot } from '../../shared/checkpoint/operator-state-files.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import type { SourceOperatorState } from '../operators/source-operator.ts';
import { LevelDbKeyedStateBackend } from '../state/leveldb-state-backend.ts';
import { ScriptedBoundedSource } from '../testing/scripted-bounded-source.ts';
import { InMemoryDeadLetterOutput } from './dead-letter.ts';
import { planJob, type JobPlan } from '../../shared/plan/job-plan.ts';
import type { OperatorSnapshot } from './stream-operator.ts';
import { buildSubtasks } from './subtask-builder.ts';
import { loadRestoreState, type RestoredState } from '../../shared/checkpoint/restore-state.ts';

describe('buildSubtasks', () => {
  it('sizes each LevelDB backend\'s cache as asked, flushing at half of it', async () => {
    const env = new StreamExecutionEnvironment().setParallelism(2);
    env.fromCollection([1, 2, 3]).keyBy((x) => x % 2).reduce((a, b) => a + b).sinkTo(new CollectSink<number>());
    const dir = mkdtempSync(join(tmpdir(), 'sluice-builder-'));
    const built = await buildSubtasks({
      plan: planJob(env.graph, env.settings, { jobName: 'tuning', maxParallelism: 128 }),
      job: { id: 'tuning', submittedAtMs: 0 },
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
      job: { id: 'one-split', submittedAtMs: 0 },
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

const MAX_PARALLELISM = 128;
const SPLITS = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];

/** Eight splits that read nothing: enough to plan, build and restore a source. */
class PartitionedSource implements Source<number> {
  readonly name = 'Partitioned';
  readonly bounded = true;
  discoverSplits(): SplitState[] {
    return SPLITS.map((id) => ({ id, position: 0 }));
  }
  createReader() {
    const held: SplitState[] = [];
    return {
      addSplits: (splits: readonly SplitState[]) => void held.push(...splits),
      poll: () => 'end' as const,
      snapshotSplits: () => held.map((s) => ({ ...s })),
      close() {},
    };
  }
}

/** Source "partitions" → keyed "counts" → sink, every operator at `parallelism`. */
function countsJob(parallelism: number): JobPlan {
  const env = new StreamExecutionEnvironment().setParallelism(parallelism);
  env
    .fromSource(new PartitionedSource(), WatermarkStrategy.noWatermarks<number>(), 'Partitioned')
    .uid('partitions')
    .keyBy((x) => x % 7)
    .reduce((a, b) => a + b)
    .uid('counts')
    .sinkTo(new CollectSink<number>());
  return planJob(env.graph, env.settings, { jobName: 'counts', maxParallelism: MAX_PARALLELISM });
}

/** A source subtask's state: its splits, and the parallelism its reader ran at unless the checkpoint predates it. */
function sourceState(splits: readonly string[], parallelism?: number): OperatorSnapshot {
  const state: SourceOperatorState = { splits: splits.map((id) => ({ id, position: 3 })), ...(parallelism === undefined ? {} : { parallelism }) };
  return { operatorState: state };
}

/** A keyed subtask's state, one entry per key group; `large`: each key group a shared chunk. */
function keyedState(keyGroups: Iterable<number>, large = false): OperatorSnapshot {
  const value = large ? 'x'.repeat(SHARED_CHUNK_MIN_BYTES) : 'small';
  return { keyed: { maxParallelism: MAX_PARALLELISM, keyGroups: [...keyGroups].map((keyGroup) => ({ keyGroup, entries: [['count', `key-${keyGroup}`, 0, value]] })) } };
}

const at = (parallelism: number, subtask: number) => keyGroupRangeForSubtask(MAX_PARALLELISM, parallelism, subtask);

/**
 * Writes checkpoint 7 as the coordinator completes one: each subtask's state file, then a
 * `_metadata` recording each operator (in uid order) at `parallelism`, with the subtasks given
 * (the others had no state).
 */
async function writeCheckpoint(operators: Record<string, { parallelism: number; subtasks: Array<[subtask: number, snapshot: OperatorSnapshot]> }>): Promise<InMemoryCheckpointStorage> {
  const storage = new InMemoryCheckpointStorage();
  const recorded: OperatorStateMetadata[] = [];
  for (const [uid, { parallelism, subtasks }] of Object.entries(operators).sort(([a], [b]) => a.localeCompare(b))) {
    const handles = [];
    // A second file of one subtask gets a path of its own (as a second writer's would be).
    for (const [n, [subtask, snapshot]] of subtasks.entries()) {
      const file = subtasks.findIndex(([other]) => other === subtask) === n ? subtask : 1000 + n;
      handles.push({ ...(await writeOperatorSnapshot(storage, 7, uid, file, snapshot)).handle, subtask });
    }
    recorded.push({ uid, name: uid, parallelism, maxParallelism: MAX_PARALLELISM, subtasks: handles });
  }
  await storage.writeMetadata({ formatVersion: METADATA_FORMAT_VERSION, checkpointId: 7, jobName: 'counts', maxParallelism: MAX_PARALLELISM, triggeredAtMs: 0, completedAtMs: 1, final: false, operators: recorded });
  return storage;
}

/**
 * What a leader that adopted a live rescale from 2 to 4 completed: subtasks 0 and 1 had switched
 * to their ranges and splits at parallelism 4, the added subtasks 2 and 3 were not asked, and
 * `_metadata` says parallelism 2.
 */
function interruptedRescale(large = false) {
  return writeCheckpoint({
    partitions: { parallelism: 2, subtasks: [[0, sourceState(['p0', 'p4'], 4)], [1, sourceState(['p1', 'p5'], 4)]] },
    counts: { parallelism: 2, subtasks: [[0, keyedState(at(4, 0), large)], [1, keyedState(at(4, 1), large)]] },
  });
}

/** Every way a restore reads a checkpoint: an embedded run (all of it), a worker (its subtasks' key groups), the dispatcher's check (no chunk). */
const readers: Array<[string, ((taskId: number, subtask: number) => boolean) | undefined]> = [
  ['all subtasks', undefined],
  ['a worker with subtask 0', (_task, subtask) => subtask === 0],
  ["the dispatcher's check", () => false],
];

async function refusal(storage: InMemoryCheckpointStorage, plan: JobPlan, isLocal?: (taskId: number, subtask: number) => boolean): Promise<string> {
  try {
    await loadRestoreState(plan, { storage, checkpointId: 7 }, isLocal);
  } catch (error) {
    assert.ok(error instanceof RestoreError, `expected a RestoreError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('the restore was not refused');
}

/** Builds the restored job and returns, by subtask, the splits each source subtask reads and the key groups each keyed subtask holds. */
async function restoreInto(plan: JobPlan, restored: RestoredState) {
  const built = await buildSubtasks({
    plan,
    job: { id: 'test-job', submittedAtMs: 0 },
    properties: {},
    clock: new ManualClock(),
    stateBackend: 'memory',
    deadLetters: new InMemoryDeadLetterOutput(),
    watermarkIntervalMs: 200,
    listener: { acknowledgeCheckpoint: () => {} },
    restored,
  });
  try {
    const splits: string[][] = [];
    const keyGroups: number[][] = [];
    for (const task of built.tasks) {
      if (task.source) splits[task.subtaskIndex] = task.source.currentSplitIds().sort();
      for (const backend of built.backendsOf.get(task) ?? []) keyGroups[task.subtaskIndex] = (await backend.snapshot()).keyGroups.map((g) => g.keyGroup);
    }
    return { splits, keyGroups };
  } finally {
    for (const task of built.tasks) await task.close();
    for (const backend of built.backends) await backend.dispose();
  }
}

describe('loadRestoreState refuses a checkpoint that does not cover each key group and split once', () => {
  for (const [reader, isLocal] of readers) {
    for (const large of [false, true]) {
      it(`keyed state written at parallelism 4 but recorded as 2 (${reader}, key groups ${large ? 'in shared chunks' : 'inline'})`, async () => {
        const storage = await interruptedRescale(large);
        const handles = (await storage.readMetadata(7)).operators.find((o) => o.uid === 'counts')!.subtasks;
        assert.equal(handles.every((h) => (h.shared?.length ?? 0) > 0), large, 'key groups in shared chunks when large');
        const message = await refusal(storage, countsJob(4), isLocal);
        assert.equal(
          message,
          'memory://checkpoints checkpoint 7: operator uid "counts": subtask 1 holds key groups 32..63, but at the parallelism 2 the checkpoint records it owns 64..127: ' +
            'its state was written at another parallelism, and a restore would reset key groups; this checkpoint cannot be restored as it is — restore from an earlier checkpoint or snapshot',
        );
      });
    }
  }

  it('source subtasks missing below the parallelism their readers ran at', async () => {
    // Keyed state at the old ranges, as if no keyed subtask had switched yet: only the sources tell.
    const storage = await writeCheckpoint({
      partitions: { parallelism: 2, subtasks: [[0, sourceState(['p0', 'p4'], 4)], [1, sourceState(['p1', 'p5'], 4)]] },
      counts: { parallelism: 2, subtasks: [[0, keyedState(at(2, 0))], [1, keyedState(at(2, 1))]] },
    });
    assert.match(
      await refusal(storage, countsJob(2)),
      /^memory:\/\/checkpoints checkpoint 7: operator uid "partitions": source subtasks 2\.\.3 left no state, but subtask 0 ran at parallelism 4 \(the checkpoint records 2\): the splits they read would never be read again; /,
    );
  });

  it('a source subtask missing below the parallelism the checkpoint records (a checkpoint without reader parallelism)', async () => {
    const storage = await writeCheckpoint({ partitions: { parallelism: 3, subtasks: [[0, sourceState(['p0', 'p3'])], [2, sourceState(['p2', 'p5'])]] } });
    assert.match(await refusal(storage, countsJob(2)), /operator uid "partitions": source subtask 1 left no state, but the checkpoint records parallelism 3: the splits it read would never be read again/);
  });

  it('a split in two source subtasks', async () => {
    const storage = await writeCheckpoint({ partitions: { parallelism: 2, subtasks: [[0, sourceState(['p0', 'p2'], 2)], [1, sourceState(['p1', 'p2'], 2)]] } });
    assert.match(await refusal(storage, countsJob(2)), /operator uid "partitions": subtask 1 holds split "p2", which subtask 0 holds too: a restore would read it twice/);
  });

  it('key groups in a subtask beyond the parallelism the checkpoint records', async () => {
    const storage = await writeCheckpoint({ counts: { parallelism: 2, subtasks: [[0, keyedState(at(2, 0))], [2, keyedState([70])]] } });
    assert.match(await refusal(storage, countsJob(2), () => false), /operator uid "counts": subtask 2 holds key groups 70, but at the parallelism 2 the checkpoint records it owns none/);
  });

  it('a key group in two subtasks, even where the recorded parallelism says nothing', async () => {
    const storage = await writeCheckpoint({ counts: { parallelism: 0, subtasks: [[0, keyedState([3, 10])], [1, keyedState([10, 90])]] } });
    assert.match(await refusal(storage, countsJob(2)), /operator uid "counts": subtask 1 holds key group 10, which subtask 0 holds too/);
  });

  it('two state files of one subtask', async () => {
    const storage = await writeCheckpoint({ counts: { parallelism: 2, subtasks: [[0, keyedState([3])], [0, keyedState([4])]] } });
    assert.match(await refusal(storage, countsJob(2)), /operator uid "counts": subtask 0 has two state files/);
  });
});

describe('loadRestoreState restores a checkpoint that covers each key group and split once', () => {
  /** At parallelism 4; keyed subtasks 1 and 3 had no state, so they are not in `_metadata`. */
  const steady = () =>
    writeCheckpoint({
      partitions: { parallelism: 4, subtasks: [0, 1, 2, 3].map((i) => [i, sourceState([`p${i}`, `p${i + 4}`], 4)]) },
      counts: { parallelism: 4, subtasks: [[0, keyedState([5, 20])], [2, keyedState([64, 90], true)]] },
    });

  for (const parallelism of [4, 2, 3, 1]) {
    it(`with empty subtasks left out, at parallelism ${parallelism}`, async () => {
      const plan = countsJob(parallelism);
      for (const [, isLocal] of readers) await loadRestoreState(plan, { storage: await steady(), checkpointId: 7 }, isLocal);
      const { splits, keyGroups } = await restoreInto(plan, await loadRestoreState(plan, { storage: await steady(), checkpointId: 7 }));
      assert.deepEqual(splits.flat().sort(), SPLITS, 'every split read by exactly one subtask');
      assert.deepEqual(keyGroups.flat().sort((a, b) => a - b), [5, 20, 64, 90], 'every key group restored once');
      keyGroups.forEach((groups, i) => assert.ok(groups.every((g) => at(parallelism, i).contains(g)), `subtask ${i} holds only its own key groups`));
    });
  }

  it("a live rescale's own checkpoint: the old parallelism recorded, the added subtasks there with nothing to restore", async () => {
    // Rescaling 2 → 4: subtasks 0 and 1 snapshot at the barrier before they switch; the added
    // subtasks 2 and 3 run at 4 already, with no split and (LevelDB) an empty state file.
    const storage = await writeCheckpoint({
      partitions: {
        parallelism: 2,
        subtasks: [[0, sourceState(['p0', 'p2', 'p4', 'p6'], 2)], [1, sourceState(['p1', 'p3', 'p5', 'p7'], 2)], [2, sourceState([], 4)], [3, sourceState([], 4)]],
      },
      counts: { parallelism: 2, subtasks: [[0, keyedState([5, 40])], [1, keyedState([64, 127], true)], [2, keyedState([])], [3, keyedState([])]] },
    });
    for (const parallelism of [4, 2]) {
      const plan = countsJob(parallelism);
      const { splits, keyGroups } = await restoreInto(plan, await loadRestoreState(plan, { storage, checkpointId: 7 }));
      assert.deepEqual(splits.flat().sort(), SPLITS);
      assert.deepEqual(keyGroups.flat().sort((a, b) => a - b), [5, 40, 64, 127]);
    }
  });

  it('a checkpoint taken before source state recorded its parallelism', async () => {
    const storage = await writeCheckpoint({
      partitions: { parallelism: 2, subtasks: [[0, sourceState(['p0', 'p2', 'p4', 'p6'])], [1, sourceState(['p1', 'p3', 'p5', 'p7'])]] },
      counts: { parallelism: 2, subtasks: [[1, keyedState(KeyGroupRange.of(100, 103))]] },
    });
    const plan = countsJob(3);
    const { splits, keyGroups } = await restoreInto(plan, await loadRestoreState(plan, { storage, checkpointId: 7 }));
    assert.deepEqual(splits.flat().sort(), SPLITS);
    assert.deepEqual(keyGroups.flat(), [100, 101, 102, 103]);
  });
});
