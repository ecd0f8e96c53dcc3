// Checkpoints on a real S3-compatible server (and the pointer in a real etcd): the layout and
// the order of writes (state files, then `_metadata`, then the sinks commit), retention and the
// cleanup of what is subsumed, incremental reuse of unchanged key groups, a coordinator that
// crashed between writing `_metadata` and moving the pointer (that checkpoint is ignored and
// removed), and a store that fails requests (the checkpoint fails and is counted, the job goes
// on and its output stays exactly-once).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StreamExecutionEnvironment, ValueStateDescriptor, WatermarkStrategy, type KeyedProcessFunction, type ValueState } from '../api/index.ts';
import type { Sink, SinkWriter } from '../api/connectors.ts';
import { SystemClock } from '../clock.ts';
import { InMemoryLogger } from '../logging.ts';
import { FaultInjectingObjectStore, S3ObjectStore, type ObjectStore, type PutOptions } from '../object-store/index.ts';
import { requireEtcd } from '../testing/services.ts';
import { createTestBucket, requireS3, type S3TestService, type TestBucket } from '../testing/s3-service.ts';
import { InMemoryDeadLetterOutput } from '../../worker/runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../../worker/runtime/embedded-executor.ts';
import { GatedSource } from '../../worker/testing/gated-source.ts';
import { EtcdHighAvailabilityServices } from '../../coordinator/ha/etcd-high-availability-services.ts';
import { CheckpointCoordinator } from './checkpoint-coordinator.ts';
import { ObjectStoreCheckpointStorage } from './checkpoint-storage.ts';
import { waitFor } from '../testing/wait-for.ts';

let s3: S3TestService;
let etcd: string[];
const buckets: TestBucket[] = [];
const stores: ObjectStore[] = [];

before(async () => {
  s3 = await requireS3();
  etcd = await requireEtcd();
});

after(async () => {
  for (const store of stores) await store.close();
  for (const bucket of buckets) await bucket.remove().catch(() => {});
});

/** Logs the key of every put in order, and can fail requests (FaultInjectingObjectStore). */
class RecordingStore extends FaultInjectingObjectStore {
  readonly puts: string[] = [];
  constructor(inner: ObjectStore, private readonly log: string[]) {
    super(inner);
  }
  override async put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void> {
    await super.put(key, bytes, options);
    this.puts.push(key);
    this.log.push(`put:${key}`);
  }
}

async function s3Storage(label: string, log: string[] = []): Promise<{ storage: ObjectStoreCheckpointStorage; store: RecordingStore; raw: S3ObjectStore }> {
  const bucket = await createTestBucket(s3, label);
  buckets.push(bucket);
  const raw = new S3ObjectStore({ bucket: bucket.name, prefix: 'checkpoints/job-1', endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
  stores.push(raw);
  const store = new RecordingStore(raw, log);
  return { storage: new ObjectStoreCheckpointStorage(store, `s3://${bucket.name}/checkpoints/job-1`), store, raw };
}

/** A sink that records its commits in a shared log, after what the storage logged; a replayed committable is not committed twice. */
class LoggingSink implements Sink<string> {
  readonly name = 'logging';
  readonly committed: string[] = [];
  private readonly done = new Set<string>();
  constructor(private readonly log: string[]) {}
  createWriter(context: { subtaskIndex: number }): SinkWriter<string> {
    let pending: string[] = [];
    let sequence = 0;
    return {
      write: (value) => pending.push(value),
      prepareCommit: () => {
        const committable = { id: `${context.subtaskIndex}/${sequence++}/${Math.random()}`, values: pending };
        pending = [];
        return committable;
      },
      commit: async (committables) => {
        this.log.push('commit');
        for (const c of committables as Array<{ id: string; values: string[] }>) {
          if (this.done.has(c.id)) continue;
          this.done.add(c.id);
          this.committed.push(...c.values);
        }
      },
      close: () => {},
    };
  }
}

type Rec = { readonly key: string; readonly payload: string };

/** Per key: a running count and the latest payload in ValueState; emits `key:count`. */
function countJob(source: GatedSource<Rec>, sink: Sink<string>, parallelism: number): StreamExecutionEnvironment {
  const env = new StreamExecutionEnvironment().setParallelism(parallelism).setAutoWatermarkInterval(0);
  const fn: KeyedProcessFunction<string, Rec, string> = {
    count: undefined as unknown as ValueState<number>,
    last: undefined as unknown as ValueState<string>,
    open(ctx) {
      this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
      this.last = ctx.getState(new ValueStateDescriptor<string>('last'));
    },
    processElement(rec, _ctx, out) {
      const n = this.count.value()! + 1;
      this.count.update(n);
      this.last.update(rec.payload);
      out.collect(`${rec.key}:${n}`);
    },
  } as KeyedProcessFunction<string, Rec, string> & { count: ValueState<number>; last: ValueState<string> };
  env
    .fromSource(source, WatermarkStrategy.noWatermarks<Rec>(), 'records')
    .uid('records')
    .keyBy((r) => r.key)
    .process(fn)
    .uid('count')
    .sinkTo(sink)
    .uid('sink');
  return env;
}

function options(storage: ObjectStoreCheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}): EmbeddedExecutorOptions {
  return {
    jobName: 'checkpoints-on-s3',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: storage,
    checkpointIntervalMs: 50,
    minPauseBetweenCheckpointsMs: 0,
    retainedCheckpoints: 2,
    deadLetters: new InMemoryDeadLetterOutput(),
    ...extra,
  };
}

/** 5000 keys with 100-byte payloads: about 4–5 KiB of state per key group, so key groups go to shared files. */
const records: Rec[] = Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, payload: `${i}:`.padEnd(100, 'x') }));

describe('checkpoints on S3', { timeout: 180_000 }, () => {
  it('writes state files, then _metadata, then commits; keeps the last two; leaves nothing unreferenced', async () => {
    const log: string[] = [];
    const { storage, store, raw } = await s3Storage('layout', log);
    const source = new GatedSource<Rec>(records.slice(0, 2000));
    const sink = new LoggingSink(log);
    const executor = await EmbeddedExecutor.create(countJob(source, sink, 2), options(storage));
    const running = executor.run();
    for (let released = 0; released < 2000; released += 500) {
      source.release(500);
      const before = executor.getStatus().checkpoints.completed;
      await waitFor('a checkpoint after the release', 30_000, () => executor.getStatus().checkpoints.completed >= before + 2);
    }
    source.releaseAllAndEnd();
    assert.equal((await running).state, 'finished');

    const completed = log.flatMap((l) => /^put:chk-(\d+)\/_metadata$/.exec(l)?.[1] ?? []).map(Number);
    assert.ok(completed.length >= 5, `checkpoints completed: ${completed}`);
    for (const id of completed) {
      const metadataAt = log.indexOf(`put:chk-${id}/_metadata`);
      const stateWrites = log.flatMap((l, i) => (l.startsWith(`put:chk-${id}/`) && !l.endsWith('_metadata') ? [i] : []));
      assert.ok(stateWrites.length > 0 && stateWrites.every((i) => i < metadataAt), `checkpoint ${id}: state files before _metadata`);
      // Each sink subtask commits once per checkpoint, after its _metadata and before the next checkpoint's.
      const nextMetadataAt = completed.includes(id + 1) ? log.indexOf(`put:chk-${id + 1}/_metadata`) : log.length;
      const commits = log.slice(metadataAt, nextMetadataAt).filter((l) => l === 'commit').length;
      assert.equal(commits, 2, `checkpoint ${id}: both sink subtasks commit after its _metadata`);
    }
    assert.deepEqual(sink.committed.sort(), records.slice(0, 2000).map((r) => `${r.key}:1`).sort(), 'exactly-once output');

    // What is left in the bucket: the last two checkpoints and the shared files they use, nothing else.
    const keys = (await raw.list('')).map((o) => o.key);
    const folders = [...new Set(keys.filter((k) => k.startsWith('chk-')).map((k) => k.split('/')[0]))].sort();
    assert.deepEqual(await storage.listCompleted(), completed.slice(-2));
    assert.deepEqual(folders, completed.slice(-2).map((id) => `chk-${id}`).sort());
    for (const key of keys) assert.match(key, /^(chk-\d+\/(_metadata|[^/]+\/subtask-\d+\.state)|shared\/[0-9a-f]{64})$/, `unexpected object ${key}`);
    const referenced = new Set<string>();
    for (const id of completed.slice(-2)) {
      for (const op of (await storage.readMetadata(id)).operators) for (const h of op.subtasks) for (const c of h.shared ?? []) referenced.add(`shared/${c}`);
    }
    assert.ok(referenced.size > 0, 'keyed state went to shared files');
    assert.deepEqual(keys.filter((k) => k.startsWith('shared/')).sort(), [...referenced].sort(), 'every shared file is referenced, every reference exists');
    assert.ok(store.puts.length > 0);
  });

  for (const backend of ['memory', 'leveldb'] as const) {
    it(`uploads only the key groups that changed (${backend} backend), and restores from the shared files`, async () => {
      const { storage, store } = await s3Storage(`incremental-${backend}`);
      const hot: Rec[] = Array.from({ length: 20 }, (_, i) => ({ key: 'k7', payload: `hot-${i}`.padEnd(100, 'y') }));
      const source = new GatedSource<Rec>([...records, ...hot]);
      const sink = new LoggingSink([]);
      const executor = await EmbeddedExecutor.create(countJob(source, sink, 1), options(storage, { stateBackend: backend }));
      const running = executor.run();
      source.release(records.length);
      await waitFor('every record processed', 30_000, () => executor.getStatus().recordsWritten === records.length);
      let before = executor.getStatus().checkpoints.completed;
      await waitFor('a checkpoint of all of them', 30_000, () => executor.getStatus().checkpoints.completed >= before + 2);
      const sharedAfterFull = store.puts.filter((k) => k.startsWith('shared/')).length;
      assert.ok(sharedAfterFull >= 100, `the first checkpoints upload most key groups (${sharedAfterFull})`);

      source.release(hot.length);
      await waitFor('the hot records processed', 30_000, () => executor.getStatus().recordsWritten === records.length + hot.length);
      before = executor.getStatus().checkpoints.completed;
      await waitFor('two more checkpoints', 30_000, () => executor.getStatus().checkpoints.completed >= before + 2);
      const uploadedSince = store.puts.filter((k) => k.startsWith('shared/')).length - sharedAfterFull;
      assert.equal(uploadedSince, 1, 'one key group changed: one shared file uploaded');
      executor.stop();
      assert.equal((await running).state, 'stopped');

      // Restore the latest checkpoint onto the other backend: the counts go on.
      const ids = await storage.listCompleted();
      const metadata = await storage.readMetadata(ids[ids.length - 1]!);
      const counted = metadata.operators.find((o) => o.uid === 'count')!;
      assert.ok(counted.subtasks[0]!.shared!.length >= 100, 'the checkpoint refers to the key groups uploaded earlier');
      // The restored source goes on from its checkpointed position, after the records already read.
      const next = new GatedSource<Rec>([...records, ...hot, { key: 'k7', payload: 'after' }, { key: 'k4999', payload: 'after' }]);
      next.releaseAllAndEnd();
      const after = new LoggingSink([]);
      const restored = await EmbeddedExecutor.create(
        countJob(next, after, 3),
        options(storage, { stateBackend: backend === 'memory' ? 'leveldb' : 'memory', restore: { storage, checkpointId: metadata.checkpointId }, checkpointIntervalMs: undefined }),
      );
      assert.equal((await restored.run()).state, 'finished');
      assert.deepEqual(after.committed.sort(), ['k4999:2', 'k7:22']);
    });
  }

  it('ignores and removes a checkpoint whose _metadata was written but whose pointer never moved', async () => {
    const { storage, raw } = await s3Storage('unpublished');
    const ha = await EtcdHighAvailabilityServices.create({ endpoints: etcd, leaseTtlSeconds: 4, logger: new InMemoryLogger(), namespace: `/sluice-test-${process.pid}-${Date.now()}/` });
    try {
      const leadership = await ha.campaign({ id: 'coordinator-a', address: '127.0.0.1:1' });
      let crashBeforePointer = false;
      const coordinator = (lastCheckpointId: number, publish: (id: number) => Promise<void>) => {
        const c: CheckpointCoordinator = new CheckpointCoordinator(
          {
            jobName: 'job-1',
            maxParallelism: 128,
            subtasks: () => [{ taskId: 0, subtask: 0 }],
            triggerCheckpoint: (id) =>
              c.acknowledge(id, { taskId: 0, subtask: 0, snapshots: new Map([['source', Promise.resolve({ operatorState: { position: id * 10 } })]]) }),
            notifyCheckpointComplete: async () => {},
            operatorInfo: () => ({ name: 'source', parallelism: 1, maxParallelism: 128 }),
            allFinished: () => false,
          },
          {
            storage,
            clock: SystemClock.INSTANCE,
            logger: new InMemoryLogger(),
            retainedCheckpoints: 3,
            minPauseBetweenCheckpointsMs: 0,
            lastCheckpointId,
            publishCompleted: async (metadata) => publish(metadata.checkpointId),
          },
        );
        return c;
      };
      const first = coordinator(0, async (id) => {
        if (crashBeforePointer) throw new Error('the coordinator crashed before moving the pointer');
        await ha.putFenced(leadership, 'checkpoint-pointer/job-1', String(id), id === 1 ? null : String(id - 1));
      });
      await first.initialize(0);
      await first.trigger();
      crashBeforePointer = true;
      await assert.rejects(first.trigger(), /crashed before moving the pointer/);
      assert.deepEqual(await storage.listCompleted(), [1, 2], 'checkpoint 2 has its _metadata');
      assert.equal(await ha.get('checkpoint-pointer/job-1'), '1');

      // The next leader trusts the pointer: checkpoint 2 does not exist, and is removed.
      const pointer = Number(await ha.get('checkpoint-pointer/job-1'));
      const second = coordinator(2, async () => {});
      await second.initialize(pointer);
      assert.deepEqual(await storage.listCompleted(), [1]);
      assert.deepEqual((await raw.list('chk-2/')).map((o) => o.key), []);
      assert.equal((await storage.readMetadata(1)).checkpointId, 1);
    } finally {
      await ha.close();
    }
  });

  it('a store that fails requests fails a checkpoint, counted; the job goes on, exactly once', async () => {
    const { storage, store } = await s3Storage('flaky');
    const source = new GatedSource<Rec>(records.slice(0, 1000));
    const sink = new LoggingSink([]);
    const executor = await EmbeddedExecutor.create(countJob(source, sink, 2), options(storage));
    const running = executor.run();
    source.release(300);
    await waitFor('a first checkpoint', 30_000, () => executor.getStatus().checkpoints.completed >= 1);
    store.failNext('put', 3);
    source.release(300);
    await waitFor('a failed checkpoint', 30_000, () => executor.getStatus().checkpoints.failed >= 1);
    const completedBefore = executor.getStatus().checkpoints.completed;
    await waitFor('checkpoints completing again', 30_000, () => executor.getStatus().checkpoints.completed >= completedBefore + 2);
    source.releaseAllAndEnd();
    const result = await running;
    assert.equal(result.state, 'finished');
    assert.equal(store.injectedFailures('put'), 3);
    assert.ok(result.status.checkpoints.failed >= 1, `failed checkpoints counted: ${result.status.checkpoints.failed}`);
    assert.deepEqual(sink.committed.sort(), records.slice(0, 1000).map((r) => `${r.key}:1`).sort(), 'nothing lost, nothing doubled');
    assert.deepEqual(await storage.discardIncomplete(), [], 'no leftovers of the failed checkpoint');
  });
});
