// The S3 file sink on the in-memory ObjectStore (which checks S3's multipart rules: part order,
// ETags, 5 MiB for every part but the last): partition paths, rolling, multipart parts, Parquet
// read back with hyparquet, schema errors naming the field, idempotent commits, part numbers
// after a restore, leftovers aborted, a job that fails and is restored writing each record once,
// and two jobs on one path, of which the later owns it (path-claims.ts).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import type { JobIdentity, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { CollectionSource, StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { createObjectStore, MemoryObjectStore } from '../../../shared/object-store/index.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { runEmbedded } from '../../testing/embedded-harness.ts';
import { S3FileSink, type S3FileCommittable, type S3FileSinkOptions } from './index.ts';
import { escapeHivePartitionValue } from './bucket-assigner.ts';

const MiB = 1024 * 1024;
/** 2026-11-27T06:30:00Z */
const T0 = Date.UTC(2026, 10, 27, 6, 30);
const HOUR_MS = 3_600_000;

function context(subtaskIndex = 0, parallelism = 1, now: () => number = () => Date.now()): SinkWriterContext {
  return { subtaskIndex, parallelism, jobName: 'test-job', job: { id: 'test-job', submittedAtMs: 0 }, now };
}

/** A subtask of one job of several that write one path; `app <id>` is its name. */
function jobContext(job: JobIdentity, subtaskIndex = 0, parallelism = 1): SinkWriterContext {
  return { ...context(subtaskIndex, parallelism), jobName: `app ${job.id}`, job };
}

/** What a writer of an earlier job throws once `later` has claimed the path. */
function refusedFor(later: JobIdentity) {
  return {
    name: 'ConfigurationError',
    message: new RegExp(`^path: S3FileSink: memory://memory is claimed by job ${later.id} \\(app ${later.id}\\), submitted at ${new Date(later.submittedAtMs).toISOString()}, after this job .*Two jobs writing one path would abort each other's uploads: give each job its own path`),
  };
}

function claimKeys(store: MemoryObjectStore): string[] {
  return [...store.data.objects.keys()].filter((k) => k.startsWith('_sluice/claims/')).sort();
}

/** The visible output: every object but the sink's own under `_sluice/` (the path's claims). */
function objectKeys(store: MemoryObjectStore): string[] {
  return [...store.data.objects.keys()].filter((k) => !k.startsWith('_sluice/')).sort();
}

function text(store: MemoryObjectStore, key: string): string {
  const bytes = store.data.objects.get(key);
  assert.ok(bytes, `object ${key} exists (objects: ${objectKeys(store).join(' ')})`);
  return Buffer.from(bytes).toString('utf8');
}

/** Every JSON line of every visible `.json` object. */
function visibleLines(store: MemoryObjectStore): string[] {
  return objectKeys(store)
    .filter((k) => k.endsWith('.json'))
    .flatMap((k) => text(store, k).trimEnd().split('\n'));
}

async function parquetRows(store: MemoryObjectStore, key: string): Promise<Record<string, unknown>[]> {
  const bytes = store.data.objects.get(key);
  assert.ok(bytes, `object ${key} exists`);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file })) as Record<string, unknown>[];
}

async function sinkWriter<T>(options: Partial<S3FileSinkOptions<T>>, store: MemoryObjectStore, ctx = context(), restored?: unknown) {
  const sink = new S3FileSink<T>({ path: store, ...options });
  return { sink, writer: await sink.createWriter(ctx, restored) };
}

async function prepare(writer: SinkWriter<unknown>, checkpointId: number): Promise<S3FileCommittable[]> {
  const committable = (await writer.prepareCommit(checkpointId)) as S3FileCommittable[] | undefined;
  assert.ok(committable, `checkpoint ${checkpointId} has files to commit`);
  return committable;
}

describe('S3FileSink', () => {
  it('writes JSON lines into dt=/hr= folders (UTC), visible only once committed', async () => {
    const store = new MemoryObjectStore();
    const { writer } = await sinkWriter<{ id: number }>({}, store);
    writer.write({ id: 1 }, T0);
    writer.write({ id: 2 }, T0 + HOUR_MS);
    writer.write({ id: 3 }, T0 + 10_000);
    const files = await prepare(writer, 1);
    assert.deepEqual(files.map((f) => f.key).sort(), ['dt=2026-11-27/hr=06/part-0-0.json', 'dt=2026-11-27/hr=07/part-0-1.json']);
    assert.deepEqual(objectKeys(store), [], 'nothing is visible before commit');
    assert.equal((await store.listMultipartUploads('')).length, 2);
    await writer.commit([files]);
    assert.equal(text(store, 'dt=2026-11-27/hr=06/part-0-0.json'), '{"id":1}\n{"id":3}\n');
    assert.equal(text(store, 'dt=2026-11-27/hr=07/part-0-1.json'), '{"id":2}\n');
    assert.deepEqual(await store.listMultipartUploads(''), []);
    await writer.close();
  });

  it('buckets by a custom time pattern and by a field, escaped as Hive does', async () => {
    const store = new MemoryObjectStore();
    const { writer: byMinute } = await sinkWriter<unknown>({ bucketBy: { eventTime: 'year=YYYY/month=MM/day=DD/HHmm' }, partPrefix: 'm' }, store);
    byMinute.write({ a: 1 }, Date.UTC(1999, 0, 2, 3, 4, 5));
    const byField = await new S3FileSink<Record<string, unknown>>({ path: store, bucketBy: { field: 'country' }, partPrefix: 'f' }).createWriter(context(), undefined);
    for (const country of ['DE', 'a/b=c', null, undefined, 7]) byField.write({ country, x: 1 }, 0);
    byField.write({ x: 2 }, 0);
    const keys = [...(await prepare(byMinute, 1)), ...(await prepare(byField, 1))].map((f) => f.key).sort();
    assert.deepEqual(keys, [
      'country=7/f-0-3.json',
      'country=DE/f-0-0.json',
      'country=__HIVE_DEFAULT_PARTITION__/f-0-2.json',
      'country=a%2Fb%3Dc/f-0-1.json',
      'year=1999/month=01/day=02/0304/m-0-0.json',
    ]);
    assert.equal(escapeHivePartitionValue('ü 100%'), 'ü 100%25');
    assert.throws(() => byMinute.write({}, Number.NEGATIVE_INFINITY), /a record has no event timestamp .*setting bucketBy\.eventTime/);
    assert.throws(() => byField.write('plain' as never, 0), /cannot bucket by field "country" .*the record is string/);
    assert.throws(() => byField.write({ country: { nested: 1 } }, 0), /field "country" .* is object; a partition value must be/);
    await byMinute.close();
    await byField.close();
  });

  it('rolls on every checkpoint, by size and by time open', async () => {
    const store = new MemoryObjectStore();
    let now = 1000;
    const { writer } = await sinkWriter<string>({ maxFileBytes: 100, maxFileOpenMs: 5000 }, store, context(0, 1, () => now));
    const line = 'x'.repeat(38); // 41 bytes a line with quotes and \n
    for (let i = 0; i < 5; i++) writer.write(line, T0); // rolls after 3 lines (123 bytes ≥ 100), then 2 lines open
    const first = await prepare(writer, 1);
    assert.deepEqual(first.map((f) => f.key), ['dt=2026-11-27/hr=06/part-0-0.json', 'dt=2026-11-27/hr=06/part-0-1.json']);
    writer.write(line, T0);
    now += 4999;
    writer.write(line, T0);
    now += 1;
    writer.write(line, T0); // the file is 5000 ms old: a new one takes this record
    const second = await prepare(writer, 2);
    await writer.commit([first, second]);
    const sizes = objectKeys(store).map((k) => text(store, k).split('\n').length - 1);
    assert.deepEqual(sizes, [3, 2, 2, 1]);
    assert.equal(await writer.prepareCommit(3), undefined, 'nothing written: nothing to commit');
    await writer.close();
  });

  it('uploads big files in parts of at least 5 MiB while writing, the last part on the barrier', async () => {
    const store = new MemoryObjectStore();
    const { writer } = await sinkWriter<{ i: number; pad: string }>({ bucketBy: { field: 'b' } }, store);
    const pad = 'p'.repeat(1000);
    const count = 12_000; // ~12 MiB
    for (let i = 0; i < count; i++) writer.write({ i, pad }, 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await store.listMultipartUploads('')).length, 1, 'the upload started before the barrier');
    const [file] = await prepare(writer, 1);
    assert.equal(file!.parts.length, 3);
    await writer.commit([[file]]);
    const lines = visibleLines(store);
    assert.equal(lines.length, count);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { i: number }).i), Array.from({ length: count }, (_, i) => i));
    await writer.close();
  });

  it('writes Parquet readable by hyparquet with the right rows and types', async () => {
    const store = new MemoryObjectStore();
    const { writer } = await sinkWriter<Record<string, unknown>>(
      {
        format: 'parquet',
        bucketBy: { eventTime: 'dt=YYYY-MM-DD' },
        schema: { id: 'INT64', price: 'DOUBLE', name: 'STRING', ok: 'BOOLEAN', at: 'TIMESTAMP', tags: 'JSON', small: 'INT32' },
      },
      store,
    );
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      id: i,
      price: i / 4,
      name: `n${i}`,
      ok: i % 2 === 0,
      at: T0 + i,
      tags: i % 3 === 0 ? null : { t: [i] },
      ...(i % 5 === 0 ? {} : { small: -i }),
    }));
    for (const row of rows) writer.write(row, T0);
    const files = await prepare(writer, 1);
    await writer.commit([files]);
    assert.deepEqual(objectKeys(store), ['dt=2026-11-27/part-0-0.parquet']);
    const read = await parquetRows(store, 'dt=2026-11-27/part-0-0.parquet');
    assert.equal(read.length, rows.length);
    assert.deepEqual(read[1], { id: 1n, price: 0.25, name: 'n1', ok: false, at: new Date(T0 + 1), tags: { t: [1] }, small: -1 });
    assert.deepEqual(read[3], { id: 3n, price: 0.75, name: 'n3', ok: false, at: new Date(T0 + 3), tags: null, small: -3 });
    assert.equal(read[5]!.small, null);
    assert.deepEqual(read.map((r) => Number(r.id)), rows.map((r) => r.id));
    const bytes = store.data.objects.get('dt=2026-11-27/part-0-0.parquet')!;
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    assert.deepEqual(
      metadata.schema.slice(1).map((e) => [e.name, e.type, e.converted_type ?? null]),
      [
        ['id', 'INT64', null],
        ['price', 'DOUBLE', null],
        ['name', 'BYTE_ARRAY', 'UTF8'],
        ['ok', 'BOOLEAN', null],
        ['at', 'INT64', 'TIMESTAMP_MILLIS'],
        ['tags', 'BYTE_ARRAY', 'JSON'],
        ['small', 'INT32', null],
      ],
    );
    await writer.close();
  });

  it('streams a big Parquet file out in 5 MiB parts and row groups, readable as one file', async () => {
    const store = new MemoryObjectStore();
    const { writer } = await sinkWriter<Record<string, unknown>>({ format: 'parquet', bucketBy: { field: 'b' }, parquetRowGroupRows: 20_000 }, store);
    const count = 150_000;
    // Random strings, so the file is big even compressed (~10 MiB).
    for (let i = 0; i < count; i++) writer.write({ b: 'x', i, s: randomBytes(32).toString('hex') }, 0);
    const [file] = await prepare(writer, 1);
    assert.ok(file!.parts.length >= 2, `${file!.parts.length} parts`);
    await writer.commit([[file]]);
    const read = await parquetRows(store, file!.key);
    assert.equal(read.length, count);
    assert.deepEqual(read.map((r) => Number(r.i)), Array.from({ length: count }, (_, i) => i));
    await writer.close();
  });

  it('infers the Parquet schema from the first record and names the field a later record breaks', async () => {
    const store = new MemoryObjectStore();
    const { writer } = await sinkWriter<Record<string, unknown>>({ format: 'parquet', bucketBy: { field: 'k' }, name: 'orders-out' }, store);
    writer.write({ k: 'a', n: 1, price: 2.5, at: new Date(T0), meta: { a: 1 } }, 0);
    assert.throws(() => writer.write({ k: 'a', n: 1.5, price: 2.5 }, 0), {
      name: 'UserFunctionError',
      message: /^orders-out: record does not fit the Parquet schema: field "n" is a number \(1\.5\), the schema says INT64 \(the schema was inferred from the first record; give the schema option, e.g. schema: \{ n: 'DOUBLE'/,
    });
    assert.throws(() => writer.write({ k: 'a', n: 2, price: 'cheap' }, 0), /field "price" is a string \("cheap"\), the schema says DOUBLE/);
    assert.throws(() => writer.write({ k: 'a', n: 2, extra: true }, 0), /field "extra" \(a boolean \(true\)\) is not one of its columns \(k, n, price, at, meta; inferred/);
    writer.write({ k: 'a', n: 2 }, 0); // missing fields are nulls
    await writer.commit([await prepare(writer, 1)]);
    const rows = await parquetRows(store, objectKeys(store)[0]!);
    assert.deepEqual(rows, [
      { k: 'a', n: 1n, price: 2.5, at: new Date(T0), meta: { a: 1 } },
      { k: 'a', n: 2n, price: null, at: null, meta: null },
    ]);
    const given = (await sinkWriter<unknown>({ format: 'parquet', bucketBy: { field: 'k' }, schema: { k: 'STRING', n: 'INT32' } }, store)).writer;
    assert.throws(() => given.write({ k: 'a', n: 2 ** 40 }, 0), /field "n" is a number \(1099511627776\), the schema says INT32$/);
    assert.throws(() => given.write([1], 0), /cannot bucket by field|Parquet rows must be objects/);
    const nullFirst = (await sinkWriter<unknown>({ format: 'parquet', bucketBy: { field: 'k' } }, store)).writer;
    assert.throws(() => nullFirst.write({ k: 'a', n: null }, 0), /cannot infer the Parquet type of field "n" from the first record: it is null; give the schema option/);
    for (const w of [writer, given, nullFirst]) await w.close();
  });

  it('commit is idempotent: again, in any order, and from a restored writer', async () => {
    const store = new MemoryObjectStore();
    const { sink, writer } = await sinkWriter<number>({}, store);
    writer.write(1, T0);
    const first = await prepare(writer, 1);
    writer.write(2, T0);
    const second = await prepare(writer, 2);
    await writer.commit([first]);
    await writer.commit([first]);
    await writer.commit([first, second]);
    await writer.commit([second, first]);
    const restored = await sink.createWriter(context(), [writer.snapshotState?.()]);
    await restored.commit([first, second]);
    assert.deepEqual(visibleLines(store), ['1', '2']);
    assert.equal(objectKeys(store).length, 2);
    await assert.rejects(restored.commit([{ key: 'dt=2026-11-27/hr=06/part-0-9.json', uploadId: 'gone', parts: [{ partNumber: 1, etag: '"e"' }] }]), /cannot complete the upload of dt=2026-11-27\/hr=06\/part-0-9\.json \(upload gone\) in memory:\/\/memory \(setting path\)/);
    await assert.rejects(restored.commit([{ key: 'k' }]), /is not \{ key, uploadId, parts/);
    await writer.close();
    await restored.close();
  });

  it('a new writer numbers its files after its restored state and after every file and upload of its subtask', async () => {
    const store = new MemoryObjectStore();
    const sink = new S3FileSink<number>({ path: store });
    const fromStates = await sink.createWriter(context(0, 2), [{ nextPartIndex: 3 }, { nextPartIndex: 7 }]);
    assert.deepEqual(fromStates.snapshotState?.(), { nextPartIndex: 7 });
    await store.put('dt=2026-01-01/hr=00/part-0-9.json', new Uint8Array([1]));
    await store.createMultipartUpload('dt=2026-01-01/hr=01/part-0-11.json');
    await store.put('dt=2026-01-01/hr=00/part-1-50.json', new Uint8Array([1]));
    await store.put('other/part-0-99.parquet', new Uint8Array([1])); // another format's files are not ours
    const fromScan = await sink.createWriter(context(0, 2), [{ nextPartIndex: 3 }]);
    assert.deepEqual(fromScan.snapshotState?.(), { nextPartIndex: 12 });
    fromScan.write(5, T0);
    assert.equal((await prepare(fromScan, 1))[0]!.key, 'dt=2026-11-27/hr=06/part-0-12.json');
    assert.deepEqual((await sink.createWriter(context(1, 2), undefined)).snapshotState?.(), { nextPartIndex: 51 });
    await assert.rejects(sink.createWriter(context(0, 1), [{ next: 1 }]), /has no valid nextPartIndex/);
    await fromStates.close();
    await fromScan.close();
  });

  it('abortLeftovers aborts only its subtasks’ uploads that the restored checkpoint does not refer to', async () => {
    const store = new MemoryObjectStore();
    const sink = new S3FileSink<number>({ path: store });
    const upload = (key: string) => store.createMultipartUpload(key);
    const kept = await upload('dt=2026-11-27/hr=06/part-0-0.json');
    await upload('dt=2026-11-27/hr=06/part-0-1.json'); // this subtask, unreferenced: aborted
    const keptOfSubtask1 = await upload('dt=2026-11-27/hr=06/part-1-0.json'); // subtask 1 of 2
    await upload('dt=2026-11-27/hr=07/part-2-4.json'); // old subtask 2, whose state subtask 0 of 2 receives: aborted
    await upload('dt=2026-11-27/hr=07/part-3-0.json'); // old subtask 3 → subtask 1
    await upload('elsewhere/notes.txt'); // not this sink's
    await upload('dt=2026-11-27/hr=07/part-0-2.parquet'); // another format's
    const keep: S3FileCommittable[] = [{ ...kept, parts: [] }];
    await sink.abortLeftovers(context(0, 2), [keep]);
    assert.deepEqual((await store.listMultipartUploads('')).map((u) => u.key), [
      'dt=2026-11-27/hr=06/part-0-0.json',
      'dt=2026-11-27/hr=06/part-1-0.json',
      'dt=2026-11-27/hr=07/part-0-2.parquet',
      'dt=2026-11-27/hr=07/part-3-0.json',
      'elsewhere/notes.txt',
    ]);
    await sink.abortLeftovers(context(1, 2), [{ ...keptOfSubtask1, parts: [] }]);
    assert.deepEqual((await store.listMultipartUploads('')).map((u) => u.key), [
      'dt=2026-11-27/hr=06/part-0-0.json',
      'dt=2026-11-27/hr=06/part-1-0.json',
      'dt=2026-11-27/hr=07/part-0-2.parquet',
      'elsewhere/notes.txt',
    ]);
  });

  it('close aborts the uploads no checkpoint refers to and keeps the pre-committed ones', async () => {
    const store = new MemoryObjectStore();
    const { sink, writer } = await sinkWriter<string>({}, store);
    writer.write('a', T0);
    const prepared = await prepare(writer, 1);
    for (let i = 0; i < 6000; i++) writer.write('y'.repeat(1000), T0); // > 5 MiB: an upload starts
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await store.listMultipartUploads('')).length, 2);
    await writer.close();
    assert.deepEqual((await store.listMultipartUploads('')).map((u) => u.key), [prepared[0]!.key]);
    const restored = await sink.createWriter(context(), [{ nextPartIndex: 2 }]);
    await restored.commit([prepared]);
    assert.deepEqual(visibleLines(store), ['"a"']);
    await restored.close();
  });

  it('a failed part upload fails the next write and the barrier, naming the file', async () => {
    const store = new MemoryObjectStore();
    store.uploadPart = async () => {
      throw new Error('connection reset');
    };
    const { writer } = await sinkWriter<string>({}, store);
    for (let i = 0; i < 6000; i++) writer.write('z'.repeat(1000), T0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.throws(() => writer.write('more', T0), /cannot upload part 1 \(\d+ bytes\) of dt=2026-11-27\/hr=06\/part-0-0\.json in memory:\/\/memory \(setting path\): connection reset/);
    await assert.rejects(Promise.resolve(writer.prepareCommit(1)), /connection reset/);
    await writer.close();
  });

  it('opens the store a URL names, one per writer', async () => {
    const sink = new S3FileSink<{ id: number }>({ path: 'memory://s3-file-sink-url-test' });
    const writer = await sink.createWriter(context(), undefined);
    writer.write({ id: 7 }, T0);
    await writer.commit([await prepare(writer, 1)]);
    await writer.close();
    const store = createObjectStore('memory://s3-file-sink-url-test');
    assert.deepEqual(Buffer.from(await store.get('dt=2026-11-27/hr=06/part-0-0.json')).toString(), '{"id":7}\n');
    assert.throws(() => new S3FileSink({ path: 'ftp://host/x' }), { name: 'ConfigurationError', message: /^path: "ftp:\/\/host\/x": unknown scheme/ });
    assert.throws(() => new S3FileSink({ path: 's3://B/x' }), { name: 'ConfigurationError', message: /^path: .*not an S3 bucket name/ });
  });

  it('validates its options, naming the field', () => {
    const store = new MemoryObjectStore();
    const bad: Array<[unknown, RegExp]> = [
      [{}, /^path: must be an s3:\/\/bucket\/prefix URL/],
      [{ path: store, format: 'csv' }, /^format: must be 'json' or 'parquet'/],
      [{ path: store, schema: { a: 'INT64' } }, /^schema: applies to format 'parquet' only/],
      [{ path: store, format: 'parquet', schema: { a: 'TEXT' } }, /^schema\.a: must be one of BOOLEAN/],
      [{ path: store, format: 'parquet', serialize: String }, /^serialize: applies to format 'json' only/],
      [{ path: store, partBytes: MiB }, /^partBytes: must be an integer ≥ 5242880/],
      [{ path: store, maxFileBytes: 0 }, /^maxFileBytes: must be an integer ≥ 1/],
      [{ path: store, maxFileOpenMs: 1.5 }, /^maxFileOpenMs: /],
      [{ path: store, bucketBy: { eventTime: 'dt=YYYY/../x' } }, /^bucketBy\.eventTime: pattern/],
      [{ path: store, bucketBy: { eventTime: 'static' } }, /^bucketBy\.eventTime: pattern "static" has no time token/],
      [{ path: store, bucketBy: { eventTime: '_sluice/dt=YYYY-MM-DD' } }, /^bucketBy\.eventTime: pattern "_sluice\/dt=YYYY-MM-DD" starts with _sluice\/, the folder of the sink's own objects/],
      [{ path: store, bucketBy: { field: 'a.b' } }, /^bucketBy\.field: must be a field name/],
      [{ path: store, bucketBy: { field: 'a', eventTime: 'HH' } }, /^bucketBy: must have exactly one of eventTime or field/],
      [{ path: store, partPrefix: 'a-b' }, /^partPrefix: /],
      [{ path: store, bucket: 'x' }, /^bucket: is not an S3FileSink option/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => new S3FileSink(options as S3FileSinkOptions<unknown>), { name: 'ConfigurationError', message }, JSON.stringify(options));
    }
  });

  describe('two jobs on one path: the later job owns it', () => {
    const earlierJob: JobIdentity = { id: 'job-a', submittedAtMs: 1000 };
    const laterJob: JobIdentity = { id: 'job-b', submittedAtMs: 2000 };

    it("a later job takes the path over: the earlier job's next commit is refused, naming path and the later job, and makes none of its files visible", async () => {
      const store = new MemoryObjectStore();
      const sink = new S3FileSink<number>({ path: store });
      const earlier = await sink.createWriter(jobContext(earlierJob), undefined);
      earlier.write(1, T0);
      await earlier.commit([await prepare(earlier, 1)]);
      earlier.write(2, T0);
      const pending = await prepare(earlier, 2);

      const later = await sink.createWriter(jobContext(laterJob), undefined);
      later.write(3, T0);
      await later.commit([await prepare(later, 1)]);
      await assert.rejects(earlier.commit([pending]), refusedFor(laterJob));
      await assert.rejects(earlier.commit([pending]), refusedFor(laterJob), 'refused again: nothing is cached');
      assert.deepEqual(visibleLines(store), ['1', '3'], "the earlier job's committed file stays, its pending one stays invisible");
      assert.deepEqual(objectKeys(store), ['dt=2026-11-27/hr=06/part-0-0.json', 'dt=2026-11-27/hr=06/part-0-2.json']);
      assert.deepEqual((await store.listMultipartUploads('')).map((u) => u.key), [pending[0]!.key], 'left for the owner’s next abortLeftovers');
      await earlier.close();
      await later.close();
    });

    it('an earlier job started after a later one claimed the path is refused at createWriter and at abortLeftovers, and aborts none of its uploads', async () => {
      const store = new MemoryObjectStore();
      const sink = new S3FileSink<number>({ path: store });
      const later = await sink.createWriter(jobContext(laterJob), undefined);
      later.write(1, T0);
      const inFlight = await prepare(later, 1);
      // Submitted at the same time, with a smaller id: the id breaks the tie.
      const tied: JobIdentity = { id: 'job-a', submittedAtMs: laterJob.submittedAtMs };
      for (const job of [earlierJob, tied]) {
        await assert.rejects(sink.abortLeftovers(jobContext(job), []), refusedFor(laterJob));
        await assert.rejects(sink.createWriter(jobContext(job), undefined), refusedFor(laterJob));
        await assert.rejects(sink.createWriter(jobContext(job, 1, 2), [{ nextPartIndex: 5 }]), refusedFor(laterJob));
      }
      assert.deepEqual((await store.listMultipartUploads('')).map((u) => u.uploadId), [inFlight[0]!.uploadId]);
      assert.deepEqual(claimKeys(store), ['_sluice/claims/000000000002000-job-b.json'], 'a refused job claims nothing and removes nothing');
      await later.commit([inFlight]);
      assert.deepEqual(visibleLines(store), ['1']);
      await later.close();
    });

    it('the subtasks and attempts of one job share one claim and are never refused', async () => {
      const store = new MemoryObjectStore();
      const sink = new S3FileSink<number>({ path: store });
      // Both subtasks find no claim and race to write it: one put wins, the other's is refused as existing.
      const [first, second] = await Promise.all([sink.createWriter(jobContext(laterJob, 0, 2), undefined), sink.createWriter(jobContext(laterJob, 1, 2), undefined)]);
      assert.deepEqual(claimKeys(store), ['_sluice/claims/000000000002000-job-b.json']);
      const claim = JSON.parse(text(store, '_sluice/claims/000000000002000-job-b.json')) as Record<string, unknown>;
      assert.deepEqual({ ...claim, claimedAt: typeof claim.claimedAt }, { jobId: 'job-b', jobName: 'app job-b', submittedAtMs: 2000, claimedAt: 'string' });
      first!.write(1, T0);
      second!.write(2, T0);
      const firstFiles = await prepare(first!, 1);
      const secondFiles = await prepare(second!, 1);
      // The next attempt of the same job, rescaled to 3, starts while the first attempt still commits.
      await sink.abortLeftovers(jobContext(laterJob, 0, 3), [firstFiles]);
      await sink.abortLeftovers(jobContext(laterJob, 1, 3), [secondFiles]);
      const next = await sink.createWriter(jobContext(laterJob, 2, 3), undefined);
      await first!.commit([firstFiles]);
      await second!.commit([secondFiles]);
      next.write(3, T0);
      await next.commit([await prepare(next, 1)]);
      assert.deepEqual(visibleLines(store).sort(), ['1', '2', '3']);
      assert.deepEqual(claimKeys(store), ['_sluice/claims/000000000002000-job-b.json']);
      for (const w of [first!, second!, next]) await w.close();
    });

    it('the owner removes the claims of earlier jobs it sees, never its own or a later one', async () => {
      const store = new MemoryObjectStore();
      const sink = new S3FileSink<number>({ path: store });
      const latest: JobIdentity = { id: 'job-c', submittedAtMs: 3000 };
      await (await sink.createWriter(jobContext(earlierJob), undefined)).close();
      assert.deepEqual(claimKeys(store), ['_sluice/claims/000000000001000-job-a.json']);
      const later = await sink.createWriter(jobContext(laterJob), undefined);
      assert.deepEqual(claimKeys(store), ['_sluice/claims/000000000002000-job-b.json']);
      await sink.abortLeftovers(jobContext(latest), []);
      assert.deepEqual(claimKeys(store), ['_sluice/claims/000000000003000-job-c.json']);
      // An earlier job's claim written after the owner looked (a race), and an object that is no claim.
      await store.put('_sluice/claims/000000000001000-job-a.json', new Uint8Array([1]));
      await store.put('_sluice/claims/README.txt', new Uint8Array([1]));
      await assert.rejects(sink.createWriter(jobContext(laterJob), undefined), refusedFor(latest));
      later.write(1, T0);
      await assert.rejects(later.commit([await prepare(later, 1)]), refusedFor(latest));
      assert.equal(claimKeys(store).length, 3, 'a superseded job removes no claim');
      await (await sink.createWriter(jobContext(latest, 1, 2), undefined)).close();
      assert.deepEqual(claimKeys(store), ['_sluice/claims/000000000003000-job-c.json', '_sluice/claims/README.txt']);
      await later.close();
    });

    it("never takes the sink's own _sluice/ objects for part files", async () => {
      const store = new MemoryObjectStore();
      const sink = new S3FileSink<number>({ path: store });
      await store.put('_sluice/claims/part-0-40.json', new Uint8Array([1]));
      await store.put('_sluice/notes/part-0-41.json', new Uint8Array([1]));
      const stray = await store.createMultipartUpload('_sluice/notes/part-0-42.json');
      await sink.abortLeftovers(context(), []);
      assert.deepEqual(await store.listMultipartUploads(''), [stray]);
      const writer = await sink.createWriter(context(), undefined);
      assert.deepEqual(writer.snapshotState?.(), { nextPartIndex: 0 });
      await writer.close();
    });
  });

  for (const format of ['json', 'parquet'] as const) {
    it(`a job that fails and is restored from its last checkpoint writes each record once (${format}, parallelism 2)`, async () => {
      const store = new MemoryObjectStore();
      const storage = new InMemoryCheckpointStorage();
      const count = 4000;
      const records = Array.from({ length: count }, (_, id) => ({ id, at: T0 + id * 60_000 }));
      const build = (failAt: number | undefined) => {
        const env = new StreamExecutionEnvironment().setParallelism(2).setMaxParallelism(128);
        let seen = 0;
        env
          .fromSource(new CollectionSource(records), WatermarkStrategy.forMonotonousTimestamps<{ id: number; at: number }>().withTimestampAssigner((r) => r.at), 'in')
          .map((r) => {
            if (failAt !== undefined && ++seen === failAt) throw new Error('injected failure');
            return r;
          })
          .sinkTo(new S3FileSink<{ id: number; at: number }>({ path: store, format }));
        return env;
      };
      await assert.rejects(runEmbedded(build(1500), { sourceBatchSize: 50, checkpointIntervalMs: 0, checkpointStorage: storage }), /injected failure/);
      const completed = await storage.listCompleted();
      assert.ok(completed.length > 0, 'a checkpoint completed before the failure');
      const result = await runEmbedded(build(undefined), {
        sourceBatchSize: 50,
        checkpointIntervalMs: 0,
        checkpointStorage: storage,
        restore: { storage, checkpointId: completed[completed.length - 1]! },
      });
      assert.equal(result.state, 'finished');
      const ids: number[] = [];
      for (const key of objectKeys(store)) {
        assert.match(key, /^dt=2026-\d\d-\d\d\/hr=\d\d\/part-[01]-\d+\.(json|parquet)$/);
        const rows = format === 'json' ? text(store, key).trimEnd().split('\n').map((l) => JSON.parse(l) as { id: number }) : await parquetRows(store, key);
        for (const row of rows) ids.push(Number(row.id));
      }
      const seen = new Map<number, number>();
      for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
      const lost = records.filter((r) => !seen.has(r.id)).length;
      const doubled = [...seen.values()].filter((n) => n > 1).length;
      assert.deepEqual({ lost, doubled, uploadsLeft: (await store.listMultipartUploads('')).length }, { lost: 0, doubled: 0, uploadsLeft: 0 });
    });
  }
});
