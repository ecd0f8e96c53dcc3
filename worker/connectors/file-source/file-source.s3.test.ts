// The FileSource on the real S3-compatible server (scripts/services.sh start s3): each format read
// from a prefix through small ranged GETs, a job failing with checkpoints inside its objects and
// restored (lost and doubled counted against the uninterrupted run), and a job monitoring a prefix
// that reads each object added later exactly once, across a failure and a restore.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SplitState } from '../../../shared/api/connectors.ts';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { createTestBucket, requireS3, s3TestClient, type S3TestService, type TestBucket } from '../../../shared/testing/s3-service.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../../runtime/embedded-executor.ts';
import { runEmbedded } from '../../testing/embedded-harness.ts';
import { CollectSink } from '../collect-sink.ts';
import { CsvReaderFormat, FileSource, JsonLinesInputFormat, ParquetInputFormat, type FileSourceOptions, type TextFilePosition } from './index.ts';
import { countLostAndDoubled, parquetFile, readAll } from './testing-file-source.ts';

interface Row {
  readonly id: number;
}

describe('FileSource on S3', () => {
  let service: S3TestService;
  let bucket: TestBucket;
  let client: S3Client;
  let cases = 0;

  before(async () => {
    service = await requireS3();
    bucket = await createTestBucket(service, 'file-source');
    client = s3TestClient(service, 3);
  });
  after(async () => {
    client?.destroy();
    await bucket?.remove();
  });

  function prefix(): string {
    return `case-${cases++}`;
  }

  async function put(key: string, body: string | Uint8Array): Promise<void> {
    await client.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: body }));
  }

  /** Ids [from, to) as a JSON-lines object. */
  async function putJsonLines(key: string, from: number, to: number): Promise<number[]> {
    const ids = Array.from({ length: to - from }, (_, i) => from + i);
    await put(key, ids.map((id) => JSON.stringify({ id, text: `row ${id} ${'é'.repeat(id % 5)}` })).join('\n') + '\n');
    return ids;
  }

  function options<T>(paths: string[], rest: Omit<FileSourceOptions<T>, 'paths' | 'endpoint' | 'region' | 'credentials'>): FileSourceOptions<T> {
    return { paths, endpoint: service.endpoint, region: service.region, credentials: service.credentials, ...rest };
  }

  function executorOptions(storage: InMemoryCheckpointStorage): EmbeddedExecutorOptions {
    return {
      jobName: 'file-source-s3',
      properties: {},
      clock: SystemClock.INSTANCE,
      logger: new InMemoryLogger(),
      stateBackend: 'memory',
      checkpointStorage: storage,
      deadLetters: new InMemoryDeadLetterOutput(),
      checkpointIntervalMs: 0,
      sourceBatchSize: 10,
    };
  }

  it('reads JSON lines, CSV and Parquet objects under a prefix through ranged reads, skipping hidden objects and other prefixes', async () => {
    const at = prefix();
    const expected = [...(await putJsonLines(`${at}/json/a.jsonl`, 0, 40)), ...(await putJsonLines(`${at}/json/sub/b.jsonl`, 40, 60))];
    await put(`${at}/json/_SUCCESS`, '');
    await put(`${at}/json/.part-0.inprogress`, '{"id":-1}\n');
    await putJsonLines(`${at}/json2/other.jsonl`, 100, 110); // `json` is a folder: `json2/` is not under it
    const json = await readAll(new FileSource<Row>(options([`s3://${bucket.name}/${at}/json`], { format: new JsonLinesInputFormat(), readChunkBytes: 17 })), { maxRecords: 9 });
    assert.deepEqual(json.values.map((r) => r.id), expected);
    assert.deepEqual(json.letters, []);

    await put(`${at}/csv/a.csv`, 'id,name,score\n1,"a, b",1.5\n2,"multi\nline",\n3,short\n4,d,4\n');
    const csv = await readAll(new FileSource(options([`s3://${bucket.name}/${at}/csv/`], { format: new CsvReaderFormat({ types: { id: 'number', score: 'number' } }), readChunkBytes: 4 })));
    assert.deepEqual(csv.values, [
      { id: 1, name: 'a, b', score: 1.5 },
      { id: 2, name: 'multi\nline', score: null },
      { id: 4, name: 'd', score: 4 },
    ]);
    assert.deepEqual(csv.letters.map((l) => [l.position, l.reason]), [[`s3://${bucket.name}/${at}/csv/a.csv:5`, 'FileSource "FileSource": row has 2 fields, expected 3 (id, name, score)']]);

    const rows = Array.from({ length: 30 }, (_, i) => ({ id: i, name: `n${i}`, score: i % 3 === 0 ? null : i }));
    await put(`${at}/parquet/a.parquet`, parquetFile(rows, 8));
    await put(`${at}/parquet/b.parquet`, 'not parquet');
    const parquet = await readAll(new FileSource(options([`s3://${bucket.name}/${at}/parquet`], { format: new ParquetInputFormat() })), { maxRecords: 5 });
    assert.deepEqual(parquet.values, rows);
    assert.deepEqual(parquet.letters.map((l) => l.position), [`s3://${bucket.name}/${at}/parquet/b.parquet`]);
    assert.match(parquet.letters[0]!.reason, /not a readable Parquet file \(11 bytes\)/);

    // A single object by its key.
    const one = await readAll(new FileSource<Row>(options([`s3://${bucket.name}/${at}/json/sub/b.jsonl`], { format: new JsonLinesInputFormat() })));
    assert.equal(one.values.length, 20);
  });

  it('names a bucket that does not exist', async () => {
    const source = new FileSource(options(['s3://sluice-no-such-bucket-here/x'], { format: new JsonLinesInputFormat() }));
    await assert.rejects(source.discoverSplits({ parallelism: 1 }), /FileSource "FileSource": listing s3:\/\/sluice-no-such-bucket-here\/x: the bucket does not exist at http/);
  });

  it('a job failing with checkpoints inside its objects, restored, commits what the uninterrupted run does', async () => {
    const at = prefix();
    for (let file = 0; file < 3; file++) await putJsonLines(`${at}/in/f${file}.jsonl`, file * 800, (file + 1) * 800);
    const build = (sink: CollectSink<number>, given: SplitState[], failAfter?: number) => {
      let processed = 0;
      const source = new FileSource<Row>(options([`s3://${bucket.name}/${at}/in`], { format: new JsonLinesInputFormat(), readChunkBytes: 2048 }));
      const createReader = source.createReader.bind(source);
      source.createReader = (context) => {
        const reader = createReader(context);
        const addSplits = reader.addSplits.bind(reader);
        reader.addSplits = (splits) => {
          given.push(...splits);
          return addSplits(splits);
        };
        return reader;
      };
      const env = new StreamExecutionEnvironment().setParallelism(2);
      env
        .fromSource(source, WatermarkStrategy.noWatermarks(), 'files')
        .uid('files')
        .map((r) => {
          if (failAfter !== undefined && ++processed > failAfter) throw new Error(`injected failure after ${failAfter} records`);
          return r.id;
        })
        .uid('ids')
        .sinkTo(sink)
        .uid('sink');
      return env;
    };
    const uninterrupted = new CollectSink<number>();
    assert.equal((await runEmbedded(build(uninterrupted, []))).state, 'finished');
    assert.equal(uninterrupted.values.length, 2400);

    const storage = new InMemoryCheckpointStorage();
    const sink = new CollectSink<number>();
    await assert.rejects((await EmbeddedExecutor.create(build(sink, [], 1200), executorOptions(storage))).run(), /injected failure after 1200 records/);
    assert.ok(sink.values.length > 0 && sink.values.length < 2400, `${sink.values.length} committed before the failure`);
    const ids = await storage.listCompleted();
    const restoredSplits: SplitState[] = [];
    const restored = await EmbeddedExecutor.create(build(sink, restoredSplits), { ...executorOptions(storage), restore: { storage, checkpointId: ids[ids.length - 1]! } });
    assert.equal((await restored.run()).state, 'finished');
    assert.ok(
      restoredSplits.some((s) => (s.position as TextFilePosition).byteOffset > 0 && !(s.position as TextFilePosition).finished),
      `the restore resumes inside an object: ${JSON.stringify(restoredSplits)}`,
    );
    assert.deepEqual(countLostAndDoubled(sink.values, uninterrupted.values), { lost: 0, doubled: 0 });
    assert.equal(sink.values.length, 2400);
  });

  it('monitoring a prefix: objects added while it runs, while it is down and after a restore are each read once', async () => {
    const at = prefix();
    const path = `s3://${bucket.name}/${at}/incoming`;
    const expected = await putJsonLines(`${at}/incoming/a.jsonl`, 0, 100);
    const sink = new CollectSink<number>();
    const storage = new InMemoryCheckpointStorage();
    let armed = true;
    const build = (source: FileSource<Row>) => {
      const env = new StreamExecutionEnvironment().setParallelism(2);
      env
        .fromSource(source, WatermarkStrategy.noWatermarks(), 'files')
        .uid('files')
        .map((r) => {
          if (armed && r.id === 250) throw new Error('injected failure at record 250');
          return r.id;
        })
        .uid('ids')
        .sinkTo(sink)
        .uid('sink');
      return env;
    };
    const monitoring = () => FileSource.forRecordStreamFormat(new JsonLinesInputFormat<Row>(), path).monitorContinuously(20).setOptions({ endpoint: service.endpoint, region: service.region, credentials: service.credentials }).build();
    const distinct = (count: number) => () => new Set(sink.values).size >= count;

    const first = await EmbeddedExecutor.create(build(monitoring()), executorOptions(storage));
    const running = first.run();
    running.catch(() => {}); // awaited below
    await waitFor('object a committed', 30_000, distinct(100));
    expected.push(...(await putJsonLines(`${at}/incoming/b.jsonl`, 100, 200)));
    await waitFor('object b committed', 30_000, distinct(200));
    expected.push(...(await putJsonLines(`${at}/incoming/c.jsonl`, 200, 300)));
    await assert.rejects(running, /injected failure at record 250/);

    expected.push(...(await putJsonLines(`${at}/incoming/d.jsonl`, 300, 350)));
    armed = false;
    const ids = await storage.listCompleted();
    const source = monitoring();
    const restored = await EmbeddedExecutor.create(build(source), { ...executorOptions(storage), restore: { storage, checkpointId: ids[ids.length - 1]! } });
    const restoredRun = restored.run();
    await waitFor(() => `c and d committed (${new Set(sink.values).size} of 350)`, 30_000, distinct(350));
    expected.push(...(await putJsonLines(`${at}/incoming/e.jsonl`, 350, 400)));
    await waitFor(() => `e committed (${new Set(sink.values).size} of 400)`, 30_000, distinct(400));
    const listings = source.counters().listings;
    await waitFor('three more listings by each discovery split', 30_000, () => source.counters().listings >= listings + 3 * 2);
    restored.stop();
    assert.equal((await restoredRun).state, 'stopped');
    assert.deepEqual(countLostAndDoubled(sink.values, expected), { lost: 0, doubled: 0 });
    assert.equal(sink.values.length, 400);
  });
});
