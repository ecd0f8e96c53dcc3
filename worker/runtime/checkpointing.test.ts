// Checkpointing end to end with the embedded executor: periodic and final checkpoints, exactly-once
// output across a failure and a restore (CollectSink's committed records), the order of writes
// (state files, then `_metadata`, then commits), `_metadata` refusing to be overwritten, corrupted
// state files, and restores that must be refused (max parallelism, missing uids).

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  ValueStateDescriptor,
  WatermarkStrategy,
  type KeyedProcessFunction,
  type ValueState,
} from '../../shared/api/index.ts';
import type { Sink, SinkWriter } from '../../shared/api/connectors.ts';
import { SystemClock } from '../../shared/clock.ts';
import { CheckpointError, RestoreError } from '../../shared/errors.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import type { CheckpointMetadata, SubtaskStateHandle } from '../../shared/checkpoint/checkpoint-metadata.ts';
import { METADATA_FORMAT_VERSION } from '../../shared/checkpoint/checkpoint-metadata.ts';
import {
  InMemoryCheckpointStorage,
  LocalDirectoryCheckpointStorage,
  type CheckpointStorage,
} from '../../shared/checkpoint/checkpoint-storage.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { InMemoryDeadLetterOutput } from './dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions, type RestoreSource } from './embedded-executor.ts';
import { multiset } from '../testing/pipeline-helpers.ts';
import { GatedSource } from '../testing/gated-source.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';

// ---- helpers ---------------------------------------------------------------------------

function executorOptions(storage: CheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}): EmbeddedExecutorOptions {
  return {
    jobName: 'checkpointing-test',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: storage,
    deadLetters: new InMemoryDeadLetterOutput(),
    ...extra,
  };
}

/**
 * Wraps a storage: logs writes (`state:<id>:<uid>:<subtask>`, `metadata:<id>:final|periodic`),
 * counts the calls in flight, and can hold state writes back until `open()` (a slow upload).
 */
class TrackingStorage implements CheckpointStorage {
  readonly log: string[] = [];
  private inFlight = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  blockedWrites = 0;
  constructor(private readonly inner: CheckpointStorage) {}
  get location(): string {
    return this.inner.location;
  }
  close(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }
  open(): void {
    this.openGate?.();
    this.gate = undefined;
  }
  private async track<R>(work: () => Promise<R>): Promise<R> {
    this.inFlight++;
    try {
      return await work();
    } finally {
      this.inFlight--;
    }
  }
  /** No read, write or discard is in flight. */
  get idle(): boolean {
    return this.inFlight === 0;
  }
  writeState(id: number, uid: string, subtask: number, bytes: Uint8Array): Promise<SubtaskStateHandle> {
    return this.track(async () => {
      if (this.gate) {
        this.blockedWrites++;
        await this.gate;
      }
      const handle = await this.inner.writeState(id, uid, subtask, bytes);
      this.log.push(`state:${id}:${uid}:${subtask}`);
      return handle;
    });
  }
  writeMetadata(metadata: CheckpointMetadata): Promise<void> {
    return this.track(async () => {
      await this.inner.writeMetadata(metadata);
      this.log.push(`metadata:${metadata.checkpointId}:${metadata.final ? 'final' : 'periodic'}`);
    });
  }
  listCompleted() {
    return this.track(() => this.inner.listCompleted());
  }
  readMetadata(id: number) {
    return this.track(() => this.inner.readMetadata(id));
  }
  readState(id: number, handle: SubtaskStateHandle) {
    return this.track(() => this.inner.readState(id, handle));
  }
  discard(id: number) {
    return this.track(() => this.inner.discard(id));
  }
  writeShared(sha256: string, bytes: Uint8Array) {
    return this.track(() => this.inner.writeShared(sha256, bytes));
  }
  readShared(sha256: string) {
    return this.track(() => this.inner.readShared(sha256));
  }
  discardUnreferencedShared(retained: readonly number[]) {
    return this.track(() => this.inner.discardUnreferencedShared(retained));
  }
  discardIncomplete(keep?: number) {
    return this.track(() => this.inner.discardIncomplete(keep));
  }
}

interface Ev {
  readonly key: string;
  readonly ts: number;
  readonly v: number;
}

const monotonous = () => WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.ts);

/** A running sum per key (ValueState) and an event-time timer at the next multiple of 10. */
function runningSum(): KeyedProcessFunction<string, Ev, string> {
  let sum: ValueState<number>;
  return {
    open(ctx) {
      sum = ctx.getState(new ValueStateDescriptor<number>('sum', 0));
    },
    processElement(e, ctx, out) {
      sum.update(sum.value()! + e.v);
      ctx.timerService().registerEventTimeTimer(Math.floor(e.ts / 10) * 10 + 10);
      out.collect(`run ${e.key}=${sum.value()}`);
    },
    onTimer(t, ctx, out) {
      out.collect(`timer ${ctx.getCurrentKey()}@${t} sum=${sum.value()}`);
    },
  };
}

// 12 events: key a, b, c in turn; ts = 2i; v = i + 1.
const events: Ev[] = Array.from({ length: 12 }, (_, i) => ({ key: ['a', 'b', 'c'][i % 3]!, ts: 2 * i, v: i + 1 }));

/** Written by hand from `events`, see the comments. */
const expectedOutput = [
  // running sums, at each record's timestamp
  // a: ts 0,6,12,18 v 1,4,7,10; b: ts 2,8,14,20 v 2,5,8,11; c: ts 4,10,16,22 v 3,6,9,12
  { value: 'run a=1', timestamp: 0 },
  { value: 'run b=2', timestamp: 2 },
  { value: 'run c=3', timestamp: 4 },
  { value: 'run a=5', timestamp: 6 },
  { value: 'run b=7', timestamp: 8 },
  { value: 'run c=9', timestamp: 10 },
  { value: 'run a=12', timestamp: 12 },
  { value: 'run b=15', timestamp: 14 },
  { value: 'run c=18', timestamp: 16 },
  { value: 'run a=22', timestamp: 18 },
  { value: 'run b=26', timestamp: 20 },
  { value: 'run c=30', timestamp: 22 },
  // timers@10 fire at watermark 11 (after ts 12); @20 at watermark 21 (after ts 22); @30 at the end
  { value: 'timer a@10 sum=12', timestamp: 10 },
  { value: 'timer b@10 sum=7', timestamp: 10 },
  { value: 'timer c@10 sum=9', timestamp: 10 },
  { value: 'timer a@20 sum=22', timestamp: 20 },
  { value: 'timer b@20 sum=26', timestamp: 20 },
  { value: 'timer c@20 sum=30', timestamp: 20 },
  { value: 'timer b@30 sum=26', timestamp: 30 },
  { value: 'timer c@30 sum=30', timestamp: 30 },
  // tumbling 10 sums
  { value: 'win a 5', timestamp: 9 },
  { value: 'win b 7', timestamp: 9 },
  { value: 'win c 3', timestamp: 9 },
  { value: 'win a 17', timestamp: 19 },
  { value: 'win b 8', timestamp: 19 },
  { value: 'win c 15', timestamp: 19 },
  { value: 'win b 11', timestamp: 29 },
  { value: 'win c 12', timestamp: 29 },
];

/** The job of the exactly-once tests: a keyed process function and a window, into one sink. */
function buildJob(source: GatedSource<Ev>, sink: Sink<string>): StreamExecutionEnvironment {
  const env = new StreamExecutionEnvironment().setParallelism(2).setAutoWatermarkInterval(0);
  const src = env.fromSource(source, monotonous(), 'events').uid('src').setParallelism(1);
  // Parallelism 1: the function keeps its state handle in a closure (see keyed-process.test.ts
  // for the same function at parallelism > 1).
  const running = src.keyBy((e) => e.key).process(runningSum()).uid('running').setParallelism(1);
  const windowed = src
    .keyBy((e) => e.key)
    .window(TumblingEventTimeWindows.of(10))
    .reduce((x, y) => ({ key: x.key, ts: Math.max(x.ts, y.ts), v: x.v + y.v }))
    .uid('window')
    .map((e) => `win ${e.key} ${e.v}`)
    .uid('win-format');
  running.union(windowed).sinkTo(sink).uid('sink');
  return env;
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-checkpointing-test-'));
  tempDirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

// ---- tests -----------------------------------------------------------------------------

describe('periodic and final checkpoints', () => {
  it('a bounded job with a checkpoint interval commits mid-run and ends with a final checkpoint marked final', async () => {
    const storage = new InMemoryCheckpointStorage();
    const source = new GatedSource<Ev>(events);
    const sink = new CollectSink<string>();
    const env = buildJob(source, sink);
    const executor = await EmbeddedExecutor.create(env, executorOptions(storage, { checkpointIntervalMs: 5, retainedCheckpoints: 100 }));
    source.release(3); // a@0, b@2, c@4
    const running = executor.run();
    await waitFor('3 records read', 5_000, () => executor.getStatus().recordsRead === 3);
    const before = executor.getStatus().checkpoints.completed;
    await waitFor('two checkpoints after the first records', 5_000, () => executor.getStatus().checkpoints.completed >= before + 2);
    // A periodic checkpoint committed the output of the first three records (no window fired yet).
    assert.deepEqual(multiset(sink.committed), multiset(expectedOutput.slice(0, 3)));
    const periodic = await storage.listCompleted();
    source.releaseAllAndEnd();
    const result = await running;
    assert.equal(result.state, 'finished');
    const ids = await storage.listCompleted();
    assert.ok(ids.length >= periodic.length + 1, `expected periodic checkpoints and a final one, got ${ids.join(',')}`);
    for (const id of periodic) assert.equal((await storage.readMetadata(id)).final, false, `checkpoint ${id} taken mid-run`);
    assert.equal((await storage.readMetadata(ids[ids.length - 1]!)).final, true);
    assert.equal(result.status.checkpoints.last?.checkpointId, ids[ids.length - 1]);
    assert.equal(result.status.checkpoints.last?.final, true);
    assert.deepEqual(multiset(sink.committed), multiset(expectedOutput));
  });

  // `final` means "every task had finished": restoring it ends the job at once. A checkpoint whose
  // snapshots were taken mid-run is not final, even if its upload completes after the end.
  it('a periodic checkpoint still uploading when the job ends is not marked final; only the end checkpoint is', async () => {
    const storage = new TrackingStorage(new InMemoryCheckpointStorage());
    const source = new GatedSource<Ev>(events);
    const sink = new CollectSink<string>();
    const executor = await EmbeddedExecutor.create(buildJob(source, sink), executorOptions(storage, { checkpointIntervalMs: 5 }));
    source.release(3);
    storage.close(); // the next checkpoint's state upload hangs
    const running = executor.run();
    await waitFor('a checkpoint uploading its state', 5_000, () => storage.blockedWrites > 0);
    source.releaseAllAndEnd();
    await waitFor('every task finished', 5_000, () => executor.getStatus().subtasks.every((t) => t.status === 'finished'));
    storage.open();
    const result = await running;
    assert.equal(result.state, 'finished');
    const ids = await storage.listCompleted();
    assert.equal(ids.length, 2, `one mid-run checkpoint and the end one, got ${ids.join(',')}`);
    assert.equal((await storage.readMetadata(ids[0]!)).final, false, 'the mid-run checkpoint');
    assert.equal((await storage.readMetadata(ids[1]!)).final, true, 'the end checkpoint');
    assert.deepEqual(multiset(sink.committed), multiset(expectedOutput));
  });

  it('without a checkpoint interval a bounded job still ends with one final checkpoint, which commits everything', async () => {
    const storage = new InMemoryCheckpointStorage();
    const source = new GatedSource<Ev>(events);
    source.releaseAllAndEnd();
    const sink = new CollectSink<string>();
    const executor = await EmbeddedExecutor.create(buildJob(source, sink), executorOptions(storage));
    const result = await executor.run();
    assert.equal(result.state, 'finished');
    const ids = await storage.listCompleted();
    assert.equal(ids.length, 1);
    assert.equal((await storage.readMetadata(ids[0]!)).final, true);
    assert.deepEqual(multiset(sink.committed), multiset(expectedOutput));
  });
});

describe('exactly-once across a failure and a restore', () => {
  for (const kind of ['memory', 'directory'] as const) {
    it(`restoring from a mid-run checkpoint and finishing gives the uninterrupted output exactly (${kind} storage)`, async () => {
      const storage = new TrackingStorage(kind === 'memory' ? new InMemoryCheckpointStorage() : new LocalDirectoryCheckpointStorage(await tempDir()));
      // The sink stands for an external system: the same one before and after the failure.
      const sink = new CollectSink<string>();

      // 1. Run, checkpoint after 5 records, process 3 more, then crash before record 8.
      const first = new GatedSource<Ev>(events);
      const executor = await EmbeddedExecutor.create(buildJob(first, sink), executorOptions(storage, { checkpointIntervalMs: 10 }));
      first.release(5);
      const running = executor.run();
      await waitFor('5 records read', 5_000, () => executor.getStatus().recordsRead === 5);
      const before = executor.getStatus().checkpoints.completed;
      await waitFor('a checkpoint after 5 records', 5_000, () => executor.getStatus().checkpoints.completed >= before + 2);
      first.release(3);
      await waitFor('8 records read', 5_000, () => executor.getStatus().recordsRead === 8);
      first.failAt = 8;
      first.release(4);
      await assert.rejects(running, /injected failure before record 8/);
      // A checkpoint in flight at the failure must not complete after run() rejected (the test
      // below); should one still be settling, wait for it so that "latest" is really the latest.
      await waitFor('the checkpoint in flight at the failure to settle', 5_000, () => !executor.getStatus().checkpoints.inProgress && storage.idle);
      const committedBeforeRestore = sink.committed.length;
      assert.ok(committedBeforeRestore > 0, 'some output was committed before the failure');
      assert.ok(committedBeforeRestore < expectedOutput.length);

      // 2. Restore from the latest completed checkpoint and finish.
      const ids = await storage.listCompleted();
      const latest = ids[ids.length - 1]!;
      assert.equal((await storage.readMetadata(latest)).final, false);
      const second = new GatedSource<Ev>(events);
      second.releaseAllAndEnd();
      const restored = await EmbeddedExecutor.create(buildJob(second, sink), executorOptions(storage, { checkpointIntervalMs: 10, restore: { storage, checkpointId: latest } }));
      const result = await restored.run();
      assert.equal(result.state, 'finished');

      // 3. Exactly the uninterrupted output: nothing lost, nothing twice.
      assert.deepEqual(multiset(sink.committed), multiset(expectedOutput));
    });
  }

  // Flink aborts pending checkpoints when a job fails; nothing is completed or committed for a
  // failed job afterwards. Here run() rejects while a checkpoint is still uploading, which then
  // writes _metadata and commits the sinks: a restore from "the latest" checkpoint taken right
  // after the failure misses it (output twice), and the restored job's next checkpoint id collides
  // with it ("_metadata exists already").
  it('once run() has rejected, the failed job writes no more checkpoints and commits nothing more', async () => {
    const storage = new TrackingStorage(new InMemoryCheckpointStorage());
    const sink = new CollectSink<string>();
    const source = new GatedSource<Ev>(events);
    const executor = await EmbeddedExecutor.create(buildJob(source, sink), executorOptions(storage, { checkpointIntervalMs: 5 }));
    source.release(3);
    storage.close();
    const running = executor.run();
    await waitFor('a checkpoint uploading its state', 5_000, () => storage.blockedWrites > 0);
    source.failAt = 3;
    source.release(1);
    let atRejection: { writes: number; committed: number } | undefined;
    const failed = running.then(
      () => assert.fail('the job should fail'),
      (error: Error) => {
        atRejection = { writes: storage.log.length, committed: sink.committed.length };
        return error;
      },
    );
    // The job fails while the upload is held; only then does the upload finish.
    await waitFor('the job to fail', 5_000, () => executor.getStatus().state === 'failed');
    storage.open();
    assert.match((await failed).message, /injected failure/);
    // Whatever the failed job still had in flight has settled: what it wrote or committed since
    // run() rejected is all it ever will.
    await waitFor('the checkpoint uploading at the failure to settle', 5_000, () => !executor.getStatus().checkpoints.inProgress && storage.idle);
    assert.deepEqual({ writes: storage.log.length, committed: sink.committed.length }, atRejection, `writes after the failure: ${storage.log.join(' ')}`);
  });

  it('an uninterrupted run gives the hand-computed output (the reference for the restore tests)', async () => {
    const source = new GatedSource<Ev>(events);
    source.releaseAllAndEnd();
    const sink = new CollectSink<string>();
    const executor = await EmbeddedExecutor.create(buildJob(source, sink), executorOptions(new InMemoryCheckpointStorage(), { checkpointIntervalMs: 10 }));
    await executor.run();
    assert.deepEqual(multiset(sink.committed), multiset(expectedOutput));
  });

  it('restoring a final checkpoint ends the job at once without output twice', async () => {
    const storage = new InMemoryCheckpointStorage();
    const sink = new CollectSink<string>();
    const source = new GatedSource<Ev>(events);
    source.releaseAllAndEnd();
    await (await EmbeddedExecutor.create(buildJob(source, sink), executorOptions(storage))).run();
    const [finalId] = await storage.listCompleted();
    const again = new GatedSource<Ev>(events);
    again.releaseAllAndEnd();
    const result = await (await EmbeddedExecutor.create(buildJob(again, sink), executorOptions(storage, { restore: { storage, checkpointId: finalId! } }))).run();
    assert.equal(result.state, 'finished');
    assert.equal(result.status.recordsRead, 0);
    assert.deepEqual(multiset(sink.committed), multiset(expectedOutput));
  });
});

// ---- the order of writes and _metadata -------------------------------------------------

/** A CollectSink whose commits are logged into `log`. */
function loggingSink(inner: CollectSink<string>, log: string[]): Sink<string> {
  return {
    name: 'Logging',
    createWriter(context): SinkWriter<string> {
      const writer = inner.createWriter(context);
      return {
        write: (v, ts) => writer.write(v, ts),
        prepareCommit: (id) => writer.prepareCommit(id),
        commit: async (committables) => {
          log.push(`commit:${committables.length}`);
          await writer.commit(committables);
        },
        close: () => writer.close(),
      };
    },
  };
}

describe('_metadata', () => {
  it('is written after every state file of its checkpoint, and sinks commit only after it', async () => {
    const storage = new TrackingStorage(new InMemoryCheckpointStorage());
    const collected = new CollectSink<string>();
    const source = new GatedSource<Ev>(events);
    const executor = await EmbeddedExecutor.create(buildJob(source, loggingSink(collected, storage.log)), executorOptions(storage, { checkpointIntervalMs: 5 }));
    source.release(6);
    const running = executor.run();
    await waitFor('two periodic checkpoints', 5_000, () => executor.getStatus().checkpoints.completed >= 2);
    source.releaseAllAndEnd();
    await running;

    const log = storage.log;
    assert.ok(log.some((e) => e.startsWith('commit')), 'the sink committed');
    assert.match(log.filter((e) => e.startsWith('metadata'))[log.filter((e) => e.startsWith('metadata')).length - 1]!, /:final$/);
    const metadataWritten = new Set<string>();
    let lastNonCommit = '';
    for (const event of log) {
      const [kind, id] = event.split(':');
      if (kind === 'state') {
        assert.ok(!metadataWritten.has(id!), `state file of checkpoint ${id} written after its _metadata: ${log.join(' ')}`);
      } else if (kind === 'metadata') {
        assert.ok(log.some((e) => e.startsWith(`state:${id}:`)), `checkpoint ${id} has state files`);
        metadataWritten.add(id!);
      } else if (kind === 'commit') {
        assert.match(lastNonCommit, /^metadata:/, `a commit came before its checkpoint's _metadata: ${log.join(' ')}`);
      }
      if (kind !== 'commit') lastNonCommit = event;
    }
    assert.deepEqual(multiset(collected.committed), multiset(expectedOutput));
  });

  const metadata = (checkpointId: number): CheckpointMetadata => ({
    formatVersion: METADATA_FORMAT_VERSION,
    checkpointId,
    jobName: 'j',
    maxParallelism: 128,
    triggeredAtMs: 1,
    completedAtMs: 2,
    final: false,
    operators: [],
  });

  it('writeMetadata refuses to overwrite an existing _metadata (in memory)', async () => {
    const storage = new InMemoryCheckpointStorage();
    await storage.writeMetadata(metadata(7));
    await assert.rejects(storage.writeMetadata({ ...metadata(7), final: true }), (e: Error) => e instanceof CheckpointError && /refusing to overwrite/.test(e.message));
    assert.equal((await storage.readMetadata(7)).final, false);
  });

  it('writeMetadata refuses to overwrite an existing _metadata (local directory), leaving the first intact', async () => {
    const dir = await tempDir();
    const storage = new LocalDirectoryCheckpointStorage(dir);
    await storage.writeMetadata(metadata(7));
    await assert.rejects(storage.writeMetadata({ ...metadata(7), final: true, jobName: 'other' }), (e: Error) => {
      assert.ok(e instanceof CheckpointError);
      assert.match(e.message, /_metadata exists already; refusing to overwrite/);
      return true;
    });
    const onDisk = JSON.parse(await readFile(join(dir, 'chk-7', '_metadata'), 'utf8')) as CheckpointMetadata;
    assert.equal(onDisk.jobName, 'j');
    assert.equal(onDisk.final, false);
    // no temporary file is left behind
    assert.deepEqual(await readdir(join(dir, 'chk-7')), ['_metadata']);
  });

  it('a checkpoint directory without _metadata is not a checkpoint and is removed when a job starts', async () => {
    const dir = await tempDir();
    const storage = new LocalDirectoryCheckpointStorage(dir);
    await storage.writeState(3, 'leftover', 0, new Uint8Array([1, 2, 3]));
    await storage.writeState(5, 'leftover', 0, new Uint8Array([1, 2, 3]));
    await storage.writeMetadata(metadata(2));
    assert.deepEqual(await storage.listCompleted(), [2]);
    const source = new GatedSource<Ev>([]);
    source.releaseAllAndEnd();
    const executor = await EmbeddedExecutor.create(buildJob(source, new CollectSink<string>()), executorOptions(storage));
    await executor.run();
    await assert.rejects(access(join(dir, 'chk-5')), /ENOENT/);
    // A fresh job continues the numbering after the completed checkpoints of the directory: its
    // final checkpoint is 3, written into a clean directory (the leftover is gone).
    assert.deepEqual(await storage.listCompleted(), [2, 3]);
    await assert.rejects(access(join(dir, 'chk-3', 'leftover')), /ENOENT/);
  });
});

// ---- refused restores ------------------------------------------------------------------

/** Runs the job to the end on `storage`, returns the final checkpoint id. */
async function finishedCheckpoint(storage: CheckpointStorage, configure: (env: StreamExecutionEnvironment) => void = () => {}): Promise<number> {
  const source = new GatedSource<Ev>(events);
  source.releaseAllAndEnd();
  const env = buildJob(source, new CollectSink<string>());
  configure(env);
  await (await EmbeddedExecutor.create(env, executorOptions(storage))).run();
  const ids = await storage.listCompleted();
  return ids[ids.length - 1]!;
}

function restoreJob(storage: CheckpointStorage, restore: RestoreSource, configure: (env: StreamExecutionEnvironment) => void = () => {}) {
  const source = new GatedSource<Ev>(events);
  source.releaseAllAndEnd();
  const env = buildJob(source, new CollectSink<string>());
  configure(env);
  return EmbeddedExecutor.create(env, executorOptions(storage, { restore }));
}

describe('refused restores', () => {
  it('a corrupted state file is detected by its checksum; the error names the file', async () => {
    const dir = await tempDir();
    const storage = new LocalDirectoryCheckpointStorage(dir);
    const id = await finishedCheckpoint(storage);
    const file = join(dir, `chk-${id}`, 'running', 'subtask-0.state');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(file, bytes);
    await assert.rejects(restoreJob(storage, { storage, checkpointId: id }), (e: Error) => {
      assert.ok(e instanceof RestoreError, `expected a RestoreError, got ${e.name}`);
      assert.match(e.message, /corrupted/);
      assert.ok(e.message.includes(join('running', 'subtask-0.state')), e.message);
      return true;
    });
  });

  it('a missing state file is refused, naming the file', async () => {
    const dir = await tempDir();
    const storage = new LocalDirectoryCheckpointStorage(dir);
    const id = await finishedCheckpoint(storage);
    await rm(join(dir, `chk-${id}`, 'running'), { recursive: true });
    await assert.rejects(restoreJob(storage, { storage, checkpointId: id }), (e: Error) => {
      assert.ok(e instanceof RestoreError);
      assert.ok(e.message.includes(join('running', 'subtask-')), e.message);
      return true;
    });
  });

  it('a checkpoint that does not exist is refused', async () => {
    const storage = new LocalDirectoryCheckpointStorage(await tempDir());
    await assert.rejects(restoreJob(storage, { storage, checkpointId: 42 }), (e: Error) => e instanceof RestoreError && /chk-42/.test(e.message));
  });

  it('restoring with a different max parallelism fails with an error naming both', async () => {
    const storage = new InMemoryCheckpointStorage();
    const id = await finishedCheckpoint(storage, (env) => env.setMaxParallelism(128));
    await assert.rejects(
      restoreJob(storage, { storage, checkpointId: id }, (env) => env.setMaxParallelism(256)),
      (e: Error) => {
        assert.ok(e instanceof RestoreError);
        assert.match(e.message, /max parallelism 128/);
        assert.match(e.message, /256/);
        return true;
      },
    );
  });

  it('the same max parallelism at a different parallelism restores (key groups are redistributed)', async () => {
    const storage = new InMemoryCheckpointStorage();
    const sink = new CollectSink<string>();
    // Stop after 5 records at window parallelism 2, restore at window parallelism 3.
    const first = new GatedSource<Ev>(events);
    first.release(5);
    const executor = await EmbeddedExecutor.create(buildJob(first, sink), executorOptions(storage));
    const running = executor.run();
    await waitFor('5 records read', 5_000, () => executor.getStatus().recordsRead === 5);
    executor.stop();
    assert.equal((await running).state, 'stopped');
    const ids = await storage.listCompleted();
    const second = new GatedSource<Ev>(events);
    second.releaseAllAndEnd();
    const env = buildJob(second, sink).setParallelism(3);
    const restored = await EmbeddedExecutor.create(env, executorOptions(storage, { restore: { storage, checkpointId: ids[ids.length - 1]! } }));
    await restored.run();
    assert.deepEqual(multiset(sink.committed), multiset(expectedOutput));
  });
});

describe('uids on restore', () => {
  type KV = [string, number];
  const input: KV[] = [['a', 1], ['b', 1], ['a', 1], ['b', 1], ['a', 1]];

  function countJob(source: GatedSource<KV>, sink: CollectSink<string>, withExtraOperator: boolean): StreamExecutionEnvironment {
    const env = new StreamExecutionEnvironment().setParallelism(1).setAutoWatermarkInterval(0);
    let stream = env.fromSource(source, WatermarkStrategy.noWatermarks<KV>(), 'kv').uid('src');
    // The extra operator keeps state (stateless operators leave nothing in a checkpoint).
    if (withExtraOperator) {
      let seen: ValueState<number>;
      const passThrough: KeyedProcessFunction<string, KV, KV> = {
        open(ctx) {
          seen = ctx.getState(new ValueStateDescriptor<number>('seen', 0));
        },
        processElement(kv, _ctx, out) {
          seen.update(seen.value()! + 1);
          out.collect(kv);
        },
      };
      stream = stream.keyBy((e) => e[0]).process(passThrough).uid('extra');
    }
    let count: ValueState<number>;
    const fn: KeyedProcessFunction<string, KV, string> = {
      open(ctx) {
        count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
      },
      processElement([key], _ctx, out) {
        count.update(count.value()! + 1);
        out.collect(`${key}:${count.value()}`);
      },
    };
    stream.keyBy((e) => e[0]).process(fn).uid('count').sinkTo(sink).uid('sink');
    return env;
  }

  /** Runs the job with the extra operator over the first 3 records and stops it; returns the checkpoint id. */
  async function stoppedAfterThree(storage: CheckpointStorage, sink: CollectSink<string>): Promise<number> {
    const source = new GatedSource<KV>(input);
    source.release(3);
    const executor = await EmbeddedExecutor.create(countJob(source, sink, true), executorOptions(storage));
    const running = executor.run();
    await waitFor('3 records read', 5_000, () => executor.getStatus().recordsRead === 3);
    executor.stop();
    assert.equal((await running).state, 'stopped');
    const ids = await storage.listCompleted();
    const metadata = await storage.readMetadata(ids[ids.length - 1]!);
    assert.equal(metadata.final, false);
    assert.ok(metadata.operators.some((o) => o.uid === 'extra'));
    return metadata.checkpointId;
  }

  it('state of a uid the new job lacks fails the restore, naming the uid', async () => {
    const storage = new InMemoryCheckpointStorage();
    const id = await stoppedAfterThree(storage, new CollectSink<string>());
    const source = new GatedSource<KV>(input);
    source.releaseAllAndEnd();
    await assert.rejects(
      EmbeddedExecutor.create(countJob(source, new CollectSink<string>(), false), executorOptions(storage, { restore: { storage, checkpointId: id } })),
      (e: Error) => {
        assert.ok(e instanceof RestoreError);
        assert.match(e.message, /"extra"/);
        assert.match(e.message, /non-restored state/);
        return true;
      },
    );
  });

  it('allowNonRestoredState drops that state; the rest is restored and the job continues', async () => {
    const storage = new InMemoryCheckpointStorage();
    const sink = new CollectSink<string>();
    const id = await stoppedAfterThree(storage, sink);
    assert.deepEqual(sink.values, ['a:1', 'b:1', 'a:2']);
    const source = new GatedSource<KV>(input);
    source.releaseAllAndEnd();
    const executor = await EmbeddedExecutor.create(
      countJob(source, sink, false),
      executorOptions(storage, { restore: { storage, checkpointId: id, allowNonRestoredState: true } }),
    );
    const result = await executor.run();
    assert.equal(result.state, 'finished');
    // The counts go on from the restored state; the source from its restored position.
    assert.deepEqual(sink.values, ['a:1', 'b:1', 'a:2', 'b:2', 'a:3']);
  });

  it('a new operator (a uid the checkpoint lacks) starts empty and the restore succeeds', async () => {
    const storage = new InMemoryCheckpointStorage();
    const sink = new CollectSink<string>();
    // First without the extra operator, then with it.
    const source = new GatedSource<KV>(input);
    source.release(3);
    const executor = await EmbeddedExecutor.create(countJob(source, sink, false), executorOptions(storage));
    const running = executor.run();
    await waitFor('3 records read', 5_000, () => executor.getStatus().recordsRead === 3);
    executor.stop();
    await running;
    const ids = await storage.listCompleted();
    const rest = new GatedSource<KV>(input);
    rest.releaseAllAndEnd();
    const restored = await EmbeddedExecutor.create(countJob(rest, sink, true), executorOptions(storage, { restore: { storage, checkpointId: ids[ids.length - 1]! } }));
    await restored.run();
    assert.deepEqual(sink.values, ['a:1', 'b:1', 'a:2', 'b:2', 'a:3']);
  });
});

