// The Kinesis source against kinesalite: start positions, restore from checkpointed sequence
// numbers without loss or duplicates, resharding (every record of a parent before any of its
// children, per-key order kept), poison records, throttling retried with backoff (through a
// proxy that refuses GetRecords), and the errors for an unreachable endpoint and a missing stream.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, MergeShardsCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { requireKinesis, testKinesisClient, TEST_AWS_CREDENTIALS } from '../../../shared/testing/kinesis-service.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';
import { KinesisSource, type KinesisSourceOptions } from './kinesis-source.ts';
import { awsError, TestingAwsFaultProxy } from './testing-aws-fault-proxy.ts';
import { createTestStream, putTestRecords, ReaderHarness, waitForActive } from './testing-kinesis.ts';

interface Row {
  readonly key: string;
  readonly n: number;
  readonly shard: string;
  readonly seq: string;
}

let endpoint: string;
let client: KinesisClient;

before(async () => {
  endpoint = await requireKinesis();
  client = testKinesisClient(endpoint);
});
after(() => client?.destroy());

function source(streamName: string, extra: Partial<KinesisSourceOptions<Row>> = {}): KinesisSource<Row> {
  return new KinesisSource<Row>({
    streamName,
    endpoint,
    credentials: TEST_AWS_CREDENTIALS,
    startPosition: 'TRIM_HORIZON',
    idleFetchIntervalMs: 20,
    shardDiscoveryIntervalMs: 50,
    deserializer: (data, origin) => ({ ...(JSON.parse(Buffer.from(data).toString('utf8')) as { key: string; n: number }), shard: origin.shardId, seq: origin.sequenceNumber }),
    ...extra,
  });
}

/** `count` records over `keys` keys, numbered per key from `from[key]` (updated). */
function records(count: number, keys: number, from: Map<string, number>): Array<{ key: string; data: string }> {
  return Array.from({ length: count }, (_, i) => {
    const key = `k${i % keys}`;
    const n = from.get(key) ?? 0;
    from.set(key, n + 1);
    return { key, data: JSON.stringify({ key, n }) };
  });
}

/** Per key, the numbers must be 0, 1, 2, … in order: nothing lost, twice or out of order. */
function assertPerKeyExactlyInOrder(rows: readonly Row[], expected: Map<string, number>): void {
  const seen = new Map<string, number[]>();
  for (const row of rows) {
    const list = seen.get(row.key) ?? [];
    list.push(row.n);
    seen.set(row.key, list);
  }
  for (const [key, count] of expected) {
    assert.deepEqual(seen.get(key), Array.from({ length: count }, (_, i) => i), `key ${key}`);
  }
  assert.equal(seen.size, expected.size);
}

async function shardIds(streamName: string): Promise<Array<{ id: string; start: bigint; end: bigint; closed: boolean }>> {
  const response = await client.send(new ListShardsCommand({ StreamName: streamName }));
  return (response.Shards ?? []).map((s) => ({
    id: s.ShardId!,
    start: BigInt(s.HashKeyRange!.StartingHashKey!),
    end: BigInt(s.HashKeyRange!.EndingHashKey!),
    closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined,
  }));
}

describe('Kinesis source: reading and restoring', () => {
  it('reads every record of every shard once, per key in order, spread over two subtasks, with arrival timestamps', async () => {
    const stream = await createTestStream(client, 'src-all', 4);
    const counts = new Map<string, number>();
    await putTestRecords(client, stream, records(400, 16, counts));
    const harness = await ReaderHarness.start(source(stream), 2);
    try {
      await harness.pollUntil(() => harness.emitted.length >= 400, '400 records');
      assertPerKeyExactlyInOrder(harness.emitted.map((e) => e.value), counts);
      assert.deepEqual(new Set(harness.emitted.map((e) => e.subtask)), new Set([0, 1]), 'both subtasks read');
      // Shards sorted by starting hash key and dealt round-robin: each subtask owns two shards.
      assert.deepEqual(harness.snapshot().map((s) => s.length), [2, 2]);
      for (const e of harness.emitted) assert.ok(typeof e.timestamp === 'number' && Math.abs(e.timestamp - Date.now()) < 600_000, `arrival timestamp ${e.timestamp}`);
    } finally {
      await harness.close();
    }
  });

  it('a restore from checkpointed sequence numbers resumes exactly after them: nothing lost, nothing twice', async () => {
    const stream = await createTestStream(client, 'src-restore', 3);
    const counts = new Map<string, number>();
    await putTestRecords(client, stream, records(600, 12, counts));
    const first = await ReaderHarness.start(source(stream), 2);
    let checkpoint;
    let beforeCheckpoint: Row[];
    try {
      await first.pollUntil(() => first.emitted.length >= 250, '250 records', 30_000, 37);
      checkpoint = first.snapshot();
      beforeCheckpoint = first.emitted.map((e) => e.value);
    } finally {
      await first.close();
    }
    assert.ok(beforeCheckpoint.length < 600);
    assert.ok(checkpoint.flat().some((s) => (s.position as { type: string }).type === 'AFTER_SEQUENCE_NUMBER'));
    await putTestRecords(client, stream, records(300, 12, counts)); // written while "down"
    const restored = await ReaderHarness.start(source(stream), 2, JSON.parse(JSON.stringify(checkpoint)) as typeof checkpoint);
    try {
      await restored.pollUntil(() => beforeCheckpoint.length + restored.emitted.length >= 900, 'the other records');
      assertPerKeyExactlyInOrder([...beforeCheckpoint, ...restored.emitted.map((e) => e.value)], counts);
    } finally {
      await restored.close();
    }
  });
});

describe('Kinesis source: start positions', () => {
  it('LATEST reads only records written after the job started, also after a restore of a checkpoint taken before any', async () => {
    const stream = await createTestStream(client, 'src-latest', 2);
    const counts = new Map<string, number>();
    await putTestRecords(client, stream, records(50, 5, counts));
    const harness = await ReaderHarness.start(source(stream, { startPosition: 'LATEST' }), 1);
    const checkpoint = harness.snapshot();
    await harness.close();
    const newer = new Map<string, number>();
    await putTestRecords(client, stream, records(40, 5, newer));
    const restored = await ReaderHarness.start(source(stream, { startPosition: 'LATEST' }), 1, checkpoint);
    try {
      await restored.pollUntil(() => restored.emitted.length >= 40, 'the 40 newer records');
      assertPerKeyExactlyInOrder(restored.emitted.map((e) => e.value), newer);
    } finally {
      await restored.close();
    }
  });

  it('AT_TIMESTAMP reads the records that arrived at or after the timestamp', async () => {
    const stream = await createTestStream(client, 'src-timestamp', 2);
    const older = new Map<string, number>();
    await putTestRecords(client, stream, records(30, 3, older));
    // The arrival time of the last older record, read back from the server.
    let lastOlderArrivalMs = 0;
    for (const shard of await shardIds(stream)) {
      const it = await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.id, ShardIteratorType: 'TRIM_HORIZON' }));
      const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
      for (const r of got.Records ?? []) lastOlderArrivalMs = Math.max(lastOlderArrivalMs, r.ApproximateArrivalTimestamp!.getTime());
    }
    const startTimestampMs = lastOlderArrivalMs + 1;
    // The newer records must arrive after startTimestampMs: wait until this clock has passed it.
    await waitFor('the clock to pass the start timestamp', 5_000, () => Date.now() > startTimestampMs + 1, 2);
    const newer = new Map<string, number>();
    const newerRecords = records(30, 3, newer).map((r) => ({ key: r.key, data: r.data.replace('"key":"', '"key":"new-') }));
    await putTestRecords(client, stream, newerRecords);
    const harness = await ReaderHarness.start(source(stream, { startPosition: 'AT_TIMESTAMP', startTimestampMs }), 1);
    try {
      await harness.pollUntil(() => harness.emitted.length >= 30, '30 newer records');
      const rows = harness.emitted.map((e) => e.value);
      assert.ok(rows.every((r) => r.key.startsWith('new-')), `older records read: ${rows.filter((r) => !r.key.startsWith('new-')).length}`);
      assertPerKeyExactlyInOrder(rows, new Map([...newer].map(([k, v]) => [`new-${k}`, v])));
    } finally {
      await harness.close();
    }
  });

  it('refuses AT_TIMESTAMP without startTimestampMs, naming the setting', () => {
    assert.throws(() => source('s', { startPosition: 'AT_TIMESTAMP' }), /startTimestampMs: must be a time/);
  });
});

describe('Kinesis source: resharding', () => {
  it('after SplitShard while reading, every record of the parent comes before any of its children, per key in order; a restore mid-way keeps it', async () => {
    const stream = await createTestStream(client, 'src-split', 1);
    const counts = new Map<string, number>();
    await putTestRecords(client, stream, records(200, 10, counts));
    const src = source(stream);
    const first = await ReaderHarness.start(src, 1);
    await first.pollUntil(() => first.emitted.length >= 60, '60 records', 30_000, 20);
    const [parent] = await shardIds(stream);
    await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: parent!.id, NewStartingHashKey: ((parent!.start + parent!.end) / 2n).toString() }));
    await waitForActive(client, stream);
    await putTestRecords(client, stream, records(200, 10, counts));
    // Read on until the children are claimed and some of their records emitted, then "fail".
    await first.pollUntil(() => first.emitted.some((e) => e.value.shard !== parent!.id) && first.emitted.length >= 260, 'records of the children');
    const checkpoint = first.snapshot();
    const beforeCheckpoint = first.emitted.map((e) => e.value);
    await first.close();
    assert.equal(src.counters().shardsClaimed, 2, 'both children claimed by the reader of the parent');
    assert.equal(checkpoint[0]!.length, 2, `the checkpoint holds the two children, not the finished parent: ${JSON.stringify(checkpoint)}`);

    const restored = await ReaderHarness.start(source(stream), 1, checkpoint);
    try {
      await restored.pollUntil(() => beforeCheckpoint.length + restored.emitted.length >= 400, 'every record');
      const rows = [...beforeCheckpoint, ...restored.emitted.map((e) => e.value)];
      assertPerKeyExactlyInOrder(rows, counts);
      const lastParent = rows.findLastIndex((r) => r.shard === parent!.id);
      const firstChild = rows.findIndex((r) => r.shard !== parent!.id);
      assert.equal(lastParent, 199, 'the parent holds the first 200 records');
      assert.ok(firstChild > lastParent, `a child record (#${firstChild}) came before the parent's last (#${lastParent})`);
      // Children's records are emitted on the split index of their root, which has not finished.
      assert.ok(restored.emitted.every((e) => e.splitIndex <= 1));
    } finally {
      await restored.close();
    }
  });

  it('after MergeShards of two shards of one subtask, the child is read only after both parents, per key in order', async () => {
    const stream = await createTestStream(client, 'src-merge', 2);
    const counts = new Map<string, number>();
    await putTestRecords(client, stream, records(150, 10, counts));
    const harness = await ReaderHarness.start(source(stream), 1);
    try {
      await harness.pollUntil(() => harness.emitted.length >= 30, '30 records', 30_000, 10);
      const [a, b] = await shardIds(stream);
      await client.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: a!.id, AdjacentShardToMerge: b!.id }));
      await waitForActive(client, stream);
      await putTestRecords(client, stream, records(150, 10, counts));
      await harness.pollUntil(() => harness.emitted.length >= 300, 'every record');
      const rows = harness.emitted.map((e) => e.value);
      assertPerKeyExactlyInOrder(rows, counts);
      const parents = new Set([a!.id, b!.id]);
      const lastParent = rows.findLastIndex((r) => parents.has(r.shard));
      const firstChild = rows.findIndex((r) => !parents.has(r.shard));
      assert.ok(firstChild > lastParent, `a child record (#${firstChild}) came before a parent's last (#${lastParent})`);
      // The merged child goes on the split index of ParentShardId; the adjacent parent's split index finishes.
      assert.equal(harness.finishedSplits.length, 1);
    } finally {
      await harness.close();
    }
  });
});

describe('Kinesis source: bad input, throttling and errors', () => {
  it('poison records: dead-lettered with their shard and sequence number (default), skipped, or failing the job naming the connector', async () => {
    const stream = await createTestStream(client, 'src-poison', 1);
    await putTestRecords(client, stream, [
      { key: 'a', data: '{"key":"a","n":0}' },
      { key: 'a', data: '{not json' },
      { key: 'a', data: '{"key":"a","n":1}' },
    ]);
    const json = { deserializer: 'json' as const };
    const deadLettering = await ReaderHarness.start(new KinesisSource<unknown>({ ...baseOptions(stream), ...json }), 1);
    try {
      await deadLettering.pollUntil(() => deadLettering.emitted.length >= 2 && deadLettering.deadLetters.length >= 1, 'two records and a dead letter');
      assert.deepEqual(deadLettering.emitted.map((e) => e.value), [{ key: 'a', n: 0 }, { key: 'a', n: 1 }]);
      const [letter] = deadLettering.deadLetters;
      assert.equal(letter!.raw, '{not json');
      assert.match(letter!.reason, /Kinesis source "src-poison-.*": .*JSON/);
      assert.match(letter!.position, /^stream src-poison-\S+ shardId-000000000000 sequence \d+$/);
    } finally {
      await deadLettering.close();
    }

    const skipping = await ReaderHarness.start(new KinesisSource<unknown>({ ...baseOptions(stream), ...json, onPoisonRecord: 'skip' }), 1);
    try {
      await skipping.pollUntil(() => skipping.emitted.length >= 2, 'two records');
      assert.equal(skipping.deadLetters.length, 0);
    } finally {
      await skipping.close();
    }

    const failing = await ReaderHarness.start(new KinesisSource<unknown>({ ...baseOptions(stream), ...json, name: 'orders', onPoisonRecord: 'fail' }), 1);
    try {
      await assert.rejects(failing.pollUntil(() => false, 'the failure'), /Kinesis source "orders": the record at stream \S+ shardId-000000000000 sequence \d+ cannot be read/);
      assert.equal(failing.emitted.length, 1, 'the record before the poison one');
    } finally {
      await failing.close();
    }
  });

  it('GetRecords throttled (ProvisionedThroughputExceededException) 6 times: retried with backoff, counted, nothing lost', async () => {
    const stream = await createTestStream(client, 'src-throttle', 1);
    const counts = new Map<string, number>();
    await putTestRecords(client, stream, records(100, 4, counts));
    const THROTTLED = 6;
    const proxy = await TestingAwsFaultProxy.start(endpoint, (call) =>
      call.operation === 'GetRecords' && call.index < THROTTLED ? awsError('ProvisionedThroughputExceededException', 'Rate exceeded for shard') : undefined,
    );
    const src = source(stream, { endpoint: proxy.url, retryBaseMs: 5, maxRetryBackoffMs: 40 });
    const harness = await ReaderHarness.start(src, 1);
    try {
      await harness.pollUntil(() => harness.emitted.length >= 100, '100 records');
      assertPerKeyExactlyInOrder(harness.emitted.map((e) => e.value), counts);
      assert.equal(src.counters().throttledRetries, THROTTLED);
      assert.ok(proxy.count('GetRecords') > THROTTLED);
    } finally {
      await harness.close();
      await proxy.close();
    }
  });

  it('LimitExceededException on ListShards during discovery is retried too', async () => {
    const stream = await createTestStream(client, 'src-limit', 1);
    // The next two ListShards calls after the split are refused: only the reader's discovery
    // lists shards through the proxy then (whatever discovery ran before does not count).
    let refuseListShards = 0;
    const proxy = await TestingAwsFaultProxy.start(endpoint, (call) => {
      if (call.operation !== 'ListShards' || refuseListShards === 0) return undefined;
      refuseListShards--;
      return awsError('LimitExceededException', 'Rate exceeded');
    });
    const src = source(stream, { endpoint: proxy.url, retryBaseMs: 5 });
    const counts = new Map<string, number>();
    await putTestRecords(client, stream, records(20, 2, counts));
    const harness = await ReaderHarness.start(src, 1);
    try {
      await harness.pollUntil(() => harness.emitted.length >= 20, '20 records');
      const [parent] = await shardIds(stream);
      const throttledBefore = src.counters().throttledRetries;
      refuseListShards = 2;
      await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: parent!.id, NewStartingHashKey: ((parent!.start + parent!.end) / 2n).toString() }));
      // Until the split is done the parent still takes records, and nothing would need discovering.
      await waitForActive(client, stream);
      await putTestRecords(client, stream, records(20, 2, counts));
      await harness.pollUntil(() => harness.emitted.length >= 40 && src.counters().shardsClaimed === 2, 'the records of the children');
      assertPerKeyExactlyInOrder(harness.emitted.map((e) => e.value), counts);
      assert.equal(refuseListShards, 0, 'both refusals were met');
      assert.equal(src.counters().throttledRetries - throttledBefore, 2, 'each refused ListShards was retried');
    } finally {
      await harness.close();
      await proxy.close();
    }
  });

  it('an unreachable endpoint and a missing stream are errors naming the connector and the setting', async () => {
    const unreachable = new KinesisSource({ streamName: 'orders', name: 'orders', endpoint: 'http://127.0.0.1:1', credentials: TEST_AWS_CREDENTIALS });
    await assert.rejects(unreachable.discoverSplits(), /Kinesis source "orders": endpoint http:\/\/127\.0\.0\.1:1 unreachable .*\(setting endpoint\)/);
    const missing = new KinesisSource({ streamName: 'no-such-stream', name: 'orders', endpoint, credentials: TEST_AWS_CREDENTIALS });
    await assert.rejects(missing.discoverSplits(), /Kinesis source "orders": stream "no-such-stream" does not exist at http:\/\/127\.0\.0\.1:\d+ \(setting streamName\)/);
  });
});

function baseOptions(streamName: string) {
  return { streamName, endpoint, credentials: TEST_AWS_CREDENTIALS, startPosition: 'TRIM_HORIZON' as const, idleFetchIntervalMs: 20 };
}
