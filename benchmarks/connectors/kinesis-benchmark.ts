// `npm run bench -- kinesis [options]` (once registered): Kinesis → Sluice → discarding sink,
// records/s, against a plain GetRecords loop over the same stream in the same run, so the ratio
// shows what the engine costs on top of the client. Both read the whole stream from the trim
// horizon, one shard per subtask (the plain loop reads the shards concurrently, one loop each).
// Needs kinesalite: `scripts/services.sh start kinesis` (SLUICE_KINESIS_ENDPOINT says where).
// kinesalite itself is the bottleneck on this machine (it JSON-encodes and LevelDB-reads every
// record), so the figure says more about the engine's overhead than about AWS throughput.
//
//   --records N     records written to the stream (default 50000), ~100 bytes of JSON each
//   --shards N      shards, and the job's parallelism (default 2)
//   --rounds N      alternate plain / Sluice runs this many times (default 2); the best of each is kept
//
// Prints the figures and writes them to benchmarks/results/kinesis-<time>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import { SystemClock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { requireKinesis, testKinesisClient, TEST_AWS_CREDENTIALS } from '../../shared/testing/kinesis-service.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { DiscardingSink } from '../../worker/connectors/discarding-sink.ts';
import { KinesisSource } from '../../worker/connectors/kinesis/kinesis-source.ts';
import { createTestStream, putTestRecords } from '../../worker/connectors/kinesis/testing-kinesis.ts';
import { InMemoryDeadLetterOutput } from '../../worker/runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../../worker/runtime/embedded-executor.ts';

const root = new URL('../..', import.meta.url).pathname;
const RUN_TIMEOUT_MS = 300_000;

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  dateTime: number;
}

/** A plain GetRecords loop per shard, JSON-parsing every record as the source does. */
async function plainGetRecordsLoop(client: KinesisClient, streamName: string, expected: number): Promise<number> {
  const shards = (await client.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
  let read = 0;
  const decoder = new TextDecoder();
  const startedMs = performance.now();
  await Promise.all(
    shards.map(async (shard) => {
      let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      while (iterator && read < expected) {
        const response = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        for (const record of response.Records ?? []) {
          JSON.parse(decoder.decode(record.Data));
          read++;
        }
        if ((response.Records ?? []).length === 0) break; // caught up: the stream is written before the run
        iterator = response.NextShardIterator;
        if (performance.now() - startedMs > RUN_TIMEOUT_MS) throw new Error('plain loop: timed out');
      }
    }),
  );
  if (read !== expected) throw new Error(`plain loop read ${read} records, expected ${expected}`);
  return read / ((performance.now() - startedMs) / 1000);
}

/** The same stream through a Sluice job (embedded executor) into a discarding sink. */
async function sluiceJob(endpoint: string, streamName: string, parallelism: number, expected: number): Promise<number> {
  const sink = new DiscardingSink<Bid>();
  const env = new StreamExecutionEnvironment().setParallelism(parallelism);
  const source = new KinesisSource<Bid>({ streamName, endpoint, credentials: TEST_AWS_CREDENTIALS, startPosition: 'TRIM_HORIZON', idleFetchIntervalMs: 50 });
  env.fromSource(source, WatermarkStrategy.noWatermarks<Bid>(), 'kinesis').uid('kinesis').sinkTo(sink).uid('sink');
  const executor = await EmbeddedExecutor.create(env, {
    jobName: 'kinesis-benchmark',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: new InMemoryCheckpointStorage(),
    deadLetters: new InMemoryDeadLetterOutput(),
  });
  const startedMs = performance.now();
  const running = executor.run();
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (executor.getStatus().recordsWritten < expected) {
    if (Date.now() > deadline) throw new Error(`Sluice job: ${executor.getStatus().recordsWritten} of ${expected} records after ${RUN_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const elapsedS = (performance.now() - startedMs) / 1000;
  executor.stop();
  await running;
  return expected / elapsedS;
}

export async function benchmarkKinesis(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: { records: { type: 'string', default: '50000' }, shards: { type: 'string', default: '2' }, rounds: { type: 'string', default: '2' } },
  });
  const records = Number(values.records);
  const shards = Number(values.shards);
  const rounds = Number(values.rounds);
  const endpoint = await requireKinesis();
  const client = testKinesisClient(endpoint);
  try {
    const streamName = await createTestStream(client, 'bench', shards);
    const bids = Array.from({ length: records }, (_, i) => {
      const bid: Bid = { auction: 1000 + (i % 997), bidder: 2000 + (i % 10_007), price: 100 + (i % 5000), channel: 'channel-1234', dateTime: 1_700_000_000_000 + i };
      return { key: String(bid.auction), data: JSON.stringify(bid) };
    });
    console.log(`kinesis: writing ${records} records (~${Math.round(bids[0]!.data.length)} bytes) to ${shards} shards at ${endpoint}`);
    await putTestRecords(client, streamName, bids);
    let plain = 0;
    let sluice = 0;
    for (let round = 1; round <= rounds; round++) {
      const p = await plainGetRecordsLoop(client, streamName, records);
      const s = await sluiceJob(endpoint, streamName, shards, records);
      console.log(`  round ${round}: plain GetRecords ${Math.round(p)} records/s, Sluice ${Math.round(s)} records/s`);
      plain = Math.max(plain, p);
      sluice = Math.max(sluice, s);
    }
    const ratio = sluice / plain;
    console.log(`kinesis: plain GetRecords loop ${Math.round(plain)} records/s; Kinesis → Sluice → discard ${Math.round(sluice)} records/s; ratio ${ratio.toFixed(2)}`);
    mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
    const file = join(root, 'benchmarks/results', `kinesis-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ benchmark: 'kinesis', server: 'kinesalite', records, shards, rounds, cpus: cpus().length, plainRecordsPerSecond: Math.round(plain), sluiceRecordsPerSecond: Math.round(sluice), ratio: Number(ratio.toFixed(3)) }, null, 2)}\n`,
    );
    console.log(`kinesis: wrote ${file}`);
  } finally {
    client.destroy();
  }
}
