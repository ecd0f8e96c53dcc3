// `npm run bench -- s3-sink [options]`: MB/s written through the S3 file sink to the real
// S3-compatible server (scripts/services.sh start s3), for JSON lines and Parquet. The records are
// Nexmark bids from the generator. Three figures per format, so the sink's cost can be read off
// against the store's own speed:
//
//   store    the same bytes the sink wrote, uploaded again straight through the ObjectStore as
//            multipart uploads of 5 MiB parts, one file after the other: what the server takes
//   writer   the sink's writer alone: write every bid (generated beforehand), prepareCommit, commit
//   job      NexmarkSource → bids → S3FileSink on the embedded engine with periodic checkpoints
//            (every checkpoint rolls the files, so this includes the per-file cost of rolling)
//
// MB/s is the bytes of the visible objects (what Athena would scan) over the wall time; records/s
// the bids; "bids as JSON" their JSON-lines size over the time, comparable across formats. Prints a table and writes benchmarks/results/s3-sink-<time>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import { SystemClock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { createObjectStore, MIN_MULTIPART_PART_BYTES, type ObjectStore, type UploadedPart } from '../../shared/object-store/index.ts';
import { createTestBucket, requireS3, type S3TestService } from '../../shared/testing/s3-service.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { S3FileSink, type ParquetSchema } from '../../worker/connectors/s3-files/index.ts';
import { isSinkMetadataKey } from '../../worker/connectors/s3-files/path-claims.ts';
import { NexmarkGenerator, type Bid, type NexmarkEvent } from '../../worker/connectors/nexmark/index.ts';
import { NexmarkSource } from '../../worker/connectors/nexmark/nexmark-source.ts';
import { InMemoryDeadLetterOutput } from '../../worker/runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../../worker/runtime/embedded-executor.ts';

const root = new URL('../..', import.meta.url).pathname;
const MB = 1e6;

const BID_SCHEMA: ParquetSchema = {
  kind: 'STRING',
  auction: 'INT64',
  bidder: 'INT64',
  price: 'INT64',
  channel: 'STRING',
  url: 'STRING',
  dateTime: 'TIMESTAMP',
  extra: 'STRING',
};

interface Figure {
  readonly format: 'json' | 'parquet';
  readonly phase: 'store' | 'writer' | 'job';
  readonly records: number;
  readonly bytes: number;
  readonly files: number;
  readonly seconds: number;
  readonly mbPerSecond: number;
  /** The records' size as JSON lines over the time: comparable across formats (Parquet compresses). */
  readonly inputMbPerSecond: number;
  readonly recordsPerSecond: number;
}

/** JSON-lines bytes per bid, measured on the generated bids. */
let jsonBytesPerBid = 0;

function figure(format: Figure['format'], phase: Figure['phase'], records: number, bytes: number, files: number, seconds: number): Figure {
  const inputMbPerSecond = phase === 'store' ? 0 : (records * jsonBytesPerBid) / MB / seconds;
  return { format, phase, records, bytes, files, seconds, mbPerSecond: bytes / MB / seconds, inputMbPerSecond, recordsPerSecond: records / seconds };
}

function bidsOf(events: number): Bid[] {
  const generator = new NexmarkGenerator({ maxEvents: events });
  const bids: Bid[] = [];
  while (generator.hasNext()) {
    const event = generator.next();
    if (event.kind === 'bid') bids.push(event);
  }
  return bids;
}

async function totalBytes(store: ObjectStore): Promise<{ bytes: number; files: number }> {
  const objects = (await store.list('')).filter((o) => !isSinkMetadataKey(o.key));
  return { bytes: objects.reduce((sum, o) => sum + o.size, 0), files: objects.length };
}

function sinkFor(store: ObjectStore, format: Figure['format']): S3FileSink<Bid> {
  return new S3FileSink<Bid>({ path: store, format, ...(format === 'parquet' ? { schema: BID_SCHEMA } : {}) });
}

async function measureWriter(store: ObjectStore, format: Figure['format'], bids: readonly Bid[]): Promise<Figure> {
  const writer = await sinkFor(store, format).createWriter({ subtaskIndex: 0, parallelism: 1, jobName: 'bench', job: { id: 'bench', submittedAtMs: 0 }, now: () => Date.now() }, undefined);
  const started = performance.now();
  for (const bid of bids) writer.write(bid, bid.dateTime);
  const committable = await writer.prepareCommit(1);
  await writer.commit([committable]);
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  const { bytes, files } = await totalBytes(store);
  return figure(format, 'writer', bids.length, bytes, files, seconds);
}

/** Uploads every object of `from` again under `to`, in 5 MiB parts, one file at a time. */
async function measureStore(from: ObjectStore, to: ObjectStore, format: Figure['format']): Promise<Figure> {
  const objects = await Promise.all((await from.list('')).filter((o) => !isSinkMetadataKey(o.key)).map(async (o) => ({ key: o.key, bytes: await from.get(o.key) })));
  const started = performance.now();
  let bytes = 0;
  for (const object of objects) {
    const upload = await to.createMultipartUpload(object.key);
    const parts: Promise<UploadedPart>[] = [];
    for (let offset = 0, partNumber = 1; offset < object.bytes.length || partNumber === 1; offset += MIN_MULTIPART_PART_BYTES, partNumber++) {
      parts.push(to.uploadPart(upload, partNumber, object.bytes.subarray(offset, offset + MIN_MULTIPART_PART_BYTES)));
    }
    await to.completeMultipartUpload(upload, await Promise.all(parts));
    bytes += object.bytes.length;
  }
  return figure(format, 'store', 0, bytes, objects.length, (performance.now() - started) / 1000);
}

async function measureJob(store: ObjectStore, format: Figure['format'], events: number, checkpointIntervalMs: number): Promise<Figure> {
  const env = new StreamExecutionEnvironment().setParallelism(1);
  env
    .fromSource(new NexmarkSource({ maxEvents: events }), WatermarkStrategy.forMonotonousTimestamps<NexmarkEvent>().withTimestampAssigner((e) => e.dateTime), 'nexmark')
    .filter((e): e is Bid => e.kind === 'bid')
    .map((e) => e as Bid)
    .sinkTo(sinkFor(store, format));
  const executor = await EmbeddedExecutor.create(env, {
    jobName: `s3-sink-bench-${format}`,
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: new InMemoryCheckpointStorage(),
    checkpointIntervalMs,
    deadLetters: new InMemoryDeadLetterOutput(),
  });
  const started = performance.now();
  const result = await executor.run();
  const seconds = (performance.now() - started) / 1000;
  const { bytes, files } = await totalBytes(store);
  return figure(format, 'job', result.status.recordsWritten, bytes, files, seconds);
}

export async function benchmarkS3Sink(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '1000000' },
      formats: { type: 'string', default: 'json,parquet' },
      'checkpoint-ms': { type: 'string', default: '2000' },
    },
  });
  const events = Number(values.events);
  const checkpointIntervalMs = Number(values['checkpoint-ms']);
  const formats = values.formats.split(',').map((f) => f.trim()) as Array<Figure['format']>;
  for (const format of formats) if (format !== 'json' && format !== 'parquet') throw new Error(`--formats: unknown format "${format}" (json, parquet)`);
  if (!Number.isSafeInteger(events) || events < 1) throw new Error(`--events must be a positive integer, got ${values.events}`);

  const service: S3TestService = await requireS3();
  const bucket = await createTestBucket(service, 's3-sink-bench');
  const stores: ObjectStore[] = [];
  const open = (prefix: string) => {
    const store = createObjectStore(`s3://${bucket.name}/${prefix}`, { s3: { endpoint: service.endpoint, region: service.region, credentials: service.credentials } });
    stores.push(store);
    return store;
  };
  const figures: Figure[] = [];
  try {
    console.log(`generating ${events} Nexmark events…`);
    const bids = bidsOf(events);
    jsonBytesPerBid = bids.reduce((sum, bid) => sum + Buffer.byteLength(JSON.stringify(bid)) + 1, 0) / bids.length;
    for (const format of formats) {
      console.log(`${format}: the writer (${bids.length} bids)…`);
      const writerStore = open(`${format}/writer`);
      figures.push(await measureWriter(writerStore, format, bids));
      console.log(`${format}: the store alone (the same files)…`);
      figures.push(await measureStore(writerStore, open(`${format}/store`), format));
      console.log(`${format}: a job with checkpoints every ${checkpointIntervalMs} ms…`);
      figures.push(await measureJob(open(`${format}/job`), format, events, checkpointIntervalMs));
    }
  } finally {
    for (const store of stores) await store.close();
    await bucket.remove().catch((error) => console.error(`could not remove bucket ${bucket.name}: ${(error as Error).message}`));
  }

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}`;
  console.log(`\nS3 file sink to ${service.endpoint}, ${events} Nexmark events (bids only written) (${machine})\n`);
  console.log('| format | what | MB/s written | bids/s | bids as JSON, MB/s | MB written | files | seconds |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const f of figures) {
    const what = f.phase === 'store' ? 'store alone (same bytes, 5 MiB parts)' : f.phase === 'writer' ? 'sink writer' : `job, checkpoint every ${checkpointIntervalMs} ms`;
    const rate = f.phase === 'store' ? '–' : `${(f.recordsPerSecond / 1e3).toFixed(0)} k`;
    const input = f.phase === 'store' ? '–' : f.inputMbPerSecond.toFixed(1);
    console.log(`| ${f.format} | ${what} | ${f.mbPerSecond.toFixed(1)} | ${rate} | ${input} | ${(f.bytes / MB).toFixed(1)} | ${f.files} | ${f.seconds.toFixed(2)} |`);
  }
  mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
  const file = join(root, 'benchmarks/results', `s3-sink-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine, endpoint: service.endpoint, events, checkpointIntervalMs, figures }, null, 2));
  console.log(`\nwritten to ${file}`);
}
