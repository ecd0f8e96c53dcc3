// The S3 file sink against the real S3-compatible server (scripts/services.sh start s3): a file of
// several 5 MiB parts, a later job taking the path over from an earlier one, and jobs on the
// embedded executor with checkpoints that fail — in the source after a checkpoint whose commit
// went through, in a commit that never reached S3, and in a commit S3 did but whose answer was
// lost — and are restored from their last checkpoint. A checker then reads every visible object
// and counts lost and doubled records: both must be 0, and no multipart upload may be left open.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parquetReadObjects } from 'hyparquet';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { createObjectStore, FaultInjectingObjectStore, type ObjectStore } from '../../../shared/object-store/index.ts';
import { createTestBucket, requireS3, type S3TestService, type TestBucket } from '../../../shared/testing/s3-service.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { InMemoryCheckpointStorage, type CheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../../runtime/embedded-executor.ts';
import { GatedSource } from '../../testing/gated-source.ts';
import { S3FileSink, type S3FileCommittable } from './index.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

/** 2026-11-27T06:30:00Z */
const T0 = Date.UTC(2026, 10, 27, 6, 30);

interface Row {
  readonly id: number;
  readonly at: number;
  readonly text: string;
}

/** The visible output: every object but the sink's own under `_sluice/` (the path's claims). */
async function outputKeys(store: ObjectStore): Promise<string[]> {
  return (await store.list('')).map((o) => o.key).filter((k) => !k.startsWith('_sluice/'));
}

/** The rows every visible object holds, by format. */
async function visibleRows(store: ObjectStore, format: 'json' | 'parquet'): Promise<Array<{ key: string; id: number }>> {
  const rows: Array<{ key: string; id: number }> = [];
  for (const key of await outputKeys(store)) {
    const bytes = await store.get(key);
    if (format === 'json') {
      for (const line of Buffer.from(bytes).toString('utf8').trimEnd().split('\n')) rows.push({ key, id: (JSON.parse(line) as Row).id });
    } else {
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      for (const row of (await parquetReadObjects({ file })) as Array<{ id: bigint }>) rows.push({ key, id: Number(row.id) });
    }
  }
  return rows;
}

/** Lost and doubled ids among the visible rows, against 0..count-1. */
function countLostAndDoubled(rows: ReadonlyArray<{ id: number }>, count: number): { lost: number; doubled: number } {
  const seen = new Map<number, number>();
  for (const { id } of rows) seen.set(id, (seen.get(id) ?? 0) + 1);
  let lost = 0;
  for (let id = 0; id < count; id++) if (!seen.has(id)) lost++;
  const doubled = [...seen.values()].filter((n) => n > 1).length;
  return { lost, doubled };
}

/** Checkpoints back to back, as often as the store allows. */
function executorOptions(storage: CheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}): EmbeddedExecutorOptions {
  return {
    jobName: 's3-file-sink-test',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: storage,
    checkpointIntervalMs: 0,
    sourceBatchSize: 100,
    deadLetters: new InMemoryDeadLetterOutput(),
    ...extra,
  };
}

describe('S3FileSink on S3', () => {
  let service: S3TestService;
  let bucket: TestBucket;
  let cases = 0;
  const stores: ObjectStore[] = [];

  before(async () => {
    service = await requireS3();
    bucket = await createTestBucket(service, 's3-file-sink');
  });
  after(async () => {
    for (const store of stores) await store.close();
    await bucket?.remove();
  });

  function url(): string {
    return `s3://${bucket.name}/case-${cases++}/events`;
  }

  function openStore(at: string): ObjectStore {
    const store = createObjectStore(at, { field: 'path', s3: { endpoint: service.endpoint, region: service.region, credentials: service.credentials } });
    stores.push(store);
    return store;
  }

  it('writes a file of several 5 MiB parts that is visible only after commit, and a replayed commit changes nothing', async () => {
    const store = openStore(url());
    const sink = new S3FileSink<Row>({ path: store });
    const writer = await sink.createWriter({ subtaskIndex: 3, parallelism: 4, jobName: 'big', job: { id: 'big', submittedAtMs: 0 }, now: () => Date.now() }, undefined);
    const text = 'x'.repeat(1000);
    const count = 13_000; // ~13 MiB: parts of 5, 5 and ~3 MiB
    for (let id = 0; id < count; id++) writer.write({ id, at: T0, text }, T0);
    const files = (await writer.prepareCommit(1)) as S3FileCommittable[];
    assert.deepEqual(files.map((f) => [f.key, f.parts.length]), [['dt=2026-11-27/hr=06/part-3-0.json', 3]]);
    assert.deepEqual(await outputKeys(store), [], 'nothing visible before commit');
    await writer.commit([files]);
    await writer.commit([files]);
    const rows = await visibleRows(store, 'json');
    assert.deepEqual(countLostAndDoubled(rows, count), { lost: 0, doubled: 0 });
    assert.deepEqual(await store.listMultipartUploads(''), []);
    await writer.close();
  });

  it('after a crash, abortLeftovers aborts the uploads no checkpoint holds and the restored writer commits the one it holds', async () => {
    const at = url();
    const store = openStore(at);
    const sink = new S3FileSink<Row>({ path: at });
    const context = { subtaskIndex: 0, parallelism: 1, jobName: 'crash', job: { id: 'crash', submittedAtMs: 0 }, now: () => Date.now() };
    const crashed = await sink.createWriter(context, undefined);
    crashed.write({ id: 0, at: T0, text: 'kept' }, T0);
    const kept = (await crashed.prepareCommit(1)) as S3FileCommittable[];
    const text = 'y'.repeat(1000);
    for (let id = 1; id <= 6000; id++) crashed.write({ id, at: T0, text }, T0); // > 5 MiB: a part goes out
    await waitFor('a part of the second file to go out', 60_000, async () => (await store.listMultipartUploads('')).length >= 2, 20);
    // The process dies here: no close, so the second upload stays open on S3 with a part in it.
    assert.deepEqual((await store.listMultipartUploads('')).map((u) => u.key), ['dt=2026-11-27/hr=06/part-0-0.json', 'dt=2026-11-27/hr=06/part-0-1.json']);

    await sink.abortLeftovers(context, [kept]);
    assert.deepEqual((await store.listMultipartUploads('')).map((u) => u.uploadId), [kept[0]!.uploadId]);
    const restored = await sink.createWriter(context, [{ nextPartIndex: 1 }]);
    await restored.commit([kept]);
    assert.deepEqual((await visibleRows(store, 'json')).map((r) => [r.key, r.id]), [['dt=2026-11-27/hr=06/part-0-0.json', 0]]);
    assert.deepEqual(restored.snapshotState?.(), { nextPartIndex: 1 }, 'the aborted upload’s number may be taken again: nothing was visible under it');
    await restored.close();
  });

  it("a later job on the path takes it over: the earlier job's next commit is refused, and the later job's output and the earlier one's committed files stay", async () => {
    const at = url();
    const store = openStore(at);
    const sink = new S3FileSink<Row>({ path: at });
    const submittedAtMs = Date.now();
    const jobA = { subtaskIndex: 0, parallelism: 1, jobName: 'export-v1', job: { id: 'job-a', submittedAtMs: submittedAtMs - 60_000 }, now: () => Date.now() };
    const jobB = { ...jobA, jobName: 'export-v2', job: { id: 'job-b', submittedAtMs } };
    const a = await sink.createWriter(jobA, undefined);
    a.write({ id: 0, at: T0, text: 'a' }, T0);
    await a.commit([await a.prepareCommit(1)]);
    a.write({ id: 100, at: T0, text: 'a, never visible' }, T0);
    const aPending = (await a.prepareCommit(2)) as S3FileCommittable[];

    // B, restored from a snapshot A took at checkpoint 1, starts while A still runs.
    await sink.abortLeftovers(jobB, []);
    const b = await sink.createWriter(jobB, [{ nextPartIndex: 1 }]);
    b.write({ id: 1, at: T0, text: 'b' }, T0);
    b.write({ id: 2, at: T0, text: 'b' }, T0);
    await b.commit([await b.prepareCommit(1)]);

    await assert.rejects(a.commit([aPending]), {
      name: 'ConfigurationError',
      message: new RegExp(`^path: S3FileSink: ${at.replace(/[/.]/g, '\\$&')} is claimed by job job-b \\(export-v2\\), .* after this job job-a \\(export-v1\\), .*give each job its own path`),
    });
    assert.deepEqual((await visibleRows(store, 'json')).map((r) => [r.key, r.id]), [
      ['dt=2026-11-27/hr=06/part-0-0.json', 0],
      ['dt=2026-11-27/hr=06/part-0-1.json', 1],
      ['dt=2026-11-27/hr=06/part-0-1.json', 2],
    ]);
    assert.deepEqual((await store.list('_sluice/')).map((o) => o.key), [`_sluice/claims/${String(submittedAtMs).padStart(15, '0')}-job-b.json`], "B removed A's claim");
    assert.deepEqual(await store.listMultipartUploads(''), [], "B aborted A's pending upload on restore");
    await a.close();
    await b.close();
  });

  const scenarios = [
    { name: 'fails after a checkpoint whose commit went through', format: 'json', fault: undefined },
    { name: 'fails after a checkpoint whose commit never started', format: 'json', fault: 'before' },
    { name: 'fails in a commit whose answer was lost', format: 'json', fault: 'after' },
    { name: 'fails after a checkpoint whose commit never started', format: 'parquet', fault: 'before' },
  ] as const;

  for (const { name, format, fault } of scenarios) {
    it(`a job that ${name} is restored with no record lost or doubled (${format})`, async () => {
      const faults = new FaultInjectingObjectStore(openStore(url()));
      const storage = new InMemoryCheckpointStorage();
      const roundRecords = 1000;
      const count = 5 * roundRecords;
      // Event times over ~3 hours: several dt=/hr= partitions per subtask and checkpoint.
      const records: Row[] = Array.from({ length: count }, (_, id) => ({ id, at: T0 + id * 2000, text: `row ${id}` }));
      const build = (source: GatedSource<Row>) => {
        const env = new StreamExecutionEnvironment().setParallelism(2).setMaxParallelism(128);
        env
          .fromSource(source, WatermarkStrategy.forMonotonousTimestamps<Row>().withTimestampAssigner((r) => r.at), 'rows')
          .rebalance()
          .sinkTo(new S3FileSink<Row>({ path: faults, format }));
        return env;
      };

      // Two rounds of records, each committed by a checkpoint taken after it.
      const source = new GatedSource(records);
      const executor = await EmbeddedExecutor.create(build(source), executorOptions(storage));
      const running = executor.run();
      running.catch(() => {}); // awaited below
      for (let round = 1; round <= 2; round++) {
        source.release(roundRecords);
        await waitFor(`round ${round} written`, 60_000, () => executor.getStatus().recordsWritten === round * roundRecords);
        const completed = executor.getStatus().checkpoints.completed;
        await waitFor(`a checkpoint after round ${round}`, 60_000, () => executor.getStatus().checkpoints.completed >= completed + 2);
      }
      assert.ok((await outputKeys(faults)).length > 0, 'the first rounds are visible');
      // Round 3 fails: in the source after its checkpoint committed, or in the commit of the checkpoint that holds it.
      if (fault) faults.failNext('completeMultipartUpload', 1, fault);
      else source.failAt = 2 * roundRecords + roundRecords / 2;
      source.release(roundRecords);
      const failure = await running.then(
        () => assert.fail('the job should have failed'),
        (error: unknown) => error as Error,
      );
      assert.match(failure.message, fault ? /committing checkpoint \d+ failed: .*cannot complete the upload of .*injected fault/ : /injected failure/);
      if (fault) {
        assert.equal(faults.injectedFailures('completeMultipartUpload'), 1);
        const failedKey = /cannot complete the upload of (\S+) /.exec(failure.message)![1]!;
        const uploadsLeft = (await faults.listMultipartUploads('')).map((u) => u.key);
        // The checkpoint is durable: the file whose completion failed is either still an open upload
        // (its commit never started) or already visible (its answer was lost); the restore must finish
        // the commit either way. Other files of the commit, completed concurrently, may be visible too.
        if (fault === 'before') assert.ok(uploadsLeft.includes(failedKey), `${failedKey} waits for its commit`);
        else {
          assert.ok(!uploadsLeft.includes(failedKey), `${failedKey} was completed, only its answer was lost`);
          assert.ok((await faults.head(failedKey)) !== undefined, `${failedKey} is visible`);
        }
      }
      const completed = await storage.listCompleted();

      const resumed = new GatedSource(records);
      resumed.releaseAllAndEnd();
      const restored = await EmbeddedExecutor.create(build(resumed), executorOptions(storage, { restore: { storage, checkpointId: completed[completed.length - 1]! } }));
      assert.equal((await restored.run()).state, 'finished');
      const rows = await visibleRows(faults, format);
      for (const { key } of rows) assert.match(key, new RegExp(`^dt=2026-11-27/hr=(06|07|08|09)/part-[01]-\\d+\\.${format}$`));
      assert.deepEqual({ ...countLostAndDoubled(rows, count), uploadsLeft: (await faults.listMultipartUploads('')).length }, { lost: 0, doubled: 0, uploadsLeft: 0 });
    });
  }
});
