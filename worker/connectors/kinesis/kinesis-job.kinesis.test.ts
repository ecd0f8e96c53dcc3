// A job reading Kinesis (kinesalite) with the embedded executor: periodic checkpoints, a failure
// mid-stream, a restore from the latest checkpoint, resharding while the restored job runs, more
// records after the failure. The exactly-once CollectSink's committed output is counted per key:
// lost, doubled and out-of-order records must all be 0.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ListShardsCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { requireKinesis, testKinesisClient, TEST_AWS_CREDENTIALS } from '../../../shared/testing/kinesis-service.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { CollectSink } from '../collect-sink.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../../runtime/embedded-executor.ts';
import { KinesisSource } from './kinesis-source.ts';
import { createTestStream, putTestRecords, waitForActive } from './testing-kinesis.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

interface Event {
  readonly key: string;
  readonly n: number;
}

let endpoint: string;
let client: KinesisClient;

before(async () => {
  endpoint = await requireKinesis();
  client = testKinesisClient(endpoint);
});
after(() => client?.destroy());

/** `count` records over `keys` keys, numbered per key from where `next` stands. */
function events(count: number, keys: number, next: Map<string, number>): Array<{ key: string; data: string }> {
  return Array.from({ length: count }, (_, i) => {
    const key = `k${i % keys}`;
    const n = next.get(key) ?? 0;
    next.set(key, n + 1);
    return { key, data: JSON.stringify({ key, n }) };
  });
}

describe('a Kinesis job across a failure and a restore', () => {
  it('loses nothing, doubles nothing and keeps per-key order, with a shard split while the restored job runs', async () => {
    const stream = await createTestStream(client, 'job', 4);
    const written = new Map<string, number>();
    await putTestRecords(client, stream, events(2000, 20, written));

    const sink = new CollectSink<Event>();
    const storage = new InMemoryCheckpointStorage();
    let failAfter: number | undefined = 1200;
    let processed = 0;
    const build = () => {
      const env = new StreamExecutionEnvironment().setParallelism(2).setAutoWatermarkInterval(0);
      const source = new KinesisSource<Event>({ streamName: stream, endpoint, credentials: TEST_AWS_CREDENTIALS, startPosition: 'TRIM_HORIZON', idleFetchIntervalMs: 20, shardDiscoveryIntervalMs: 100, maxRecordsPerFetch: 100 });
      env
        .fromSource(source, WatermarkStrategy.noWatermarks<Event>(), 'kinesis')
        .uid('kinesis')
        .map((e) => {
          if (failAfter !== undefined && ++processed > failAfter) throw new Error(`injected failure after ${failAfter} records`);
          return e;
        })
        .uid('check')
        .sinkTo(sink)
        .uid('sink');
      return env;
    };
    const options: EmbeddedExecutorOptions = {
      jobName: 'kinesis-job',
      properties: {},
      clock: SystemClock.INSTANCE,
      logger: new InMemoryLogger(),
      stateBackend: 'memory',
      checkpointStorage: storage,
      deadLetters: new InMemoryDeadLetterOutput(),
      checkpointIntervalMs: 15,
      sourceBatchSize: 50,
    };

    // 1. Run until the injected failure.
    const first = await EmbeddedExecutor.create(build(), options);
    await assert.rejects(first.run(), /injected failure after 1200 records/);
    const committedAtFailure = sink.committed.length;
    assert.ok(committedAtFailure > 0 && committedAtFailure < 2000, `committed before the failure: ${committedAtFailure}`);

    // 2. More records while the job is down.
    await putTestRecords(client, stream, events(300, 20, written));

    // 3. Restore from the latest checkpoint; split a shard while it runs and write more.
    failAfter = undefined;
    const ids = await storage.listCompleted();
    const restored = await EmbeddedExecutor.create(build(), { ...options, restore: { storage, checkpointId: ids[ids.length - 1]! } });
    const running = restored.run();
    await waitFor('2100 records committed', 60_000, () => sink.committed.length >= 2100);
    const shards = (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
    const open = shards.find((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined)!;
    const middle = (BigInt(open.HashKeyRange!.StartingHashKey!) + BigInt(open.HashKeyRange!.EndingHashKey!)) / 2n;
    await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: open.ShardId!, NewStartingHashKey: middle.toString() }));
    await waitForActive(client, stream); // so that the records after it go to the children
    await putTestRecords(client, stream, events(500, 20, written));
    const total = [...written.values()].reduce((a, b) => a + b, 0);
    await waitFor(`${total} records committed`, 60_000, () => sink.committed.length >= total);
    restored.stop();
    assert.equal((await running).state, 'stopped');

    // 4. Count per key.
    const seen = new Map<string, number[]>();
    for (const { value } of sink.committed) seen.set(value.key, [...(seen.get(value.key) ?? []), value.n]);
    let lost = 0;
    let doubled = 0;
    let outOfOrder = 0;
    for (const [key, count] of written) {
      const ns = seen.get(key) ?? [];
      const distinct = new Set(ns);
      lost += count - distinct.size;
      doubled += ns.length - distinct.size;
      for (let i = 1; i < ns.length; i++) if (ns[i]! <= ns[i - 1]!) outOfOrder++;
    }
    assert.deepEqual({ lost, doubled, outOfOrder, committed: sink.committed.length }, { lost: 0, doubled: 0, outOfOrder: 0, committed: total });
  });
});
