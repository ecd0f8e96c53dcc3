// The DynamoDB sink against dynalite: upserts by the table key (a replay leaves the same items),
// writes of one key merged inside a batch (DynamoDB refuses duplicates in one BatchWriteItem),
// UnprocessedItems retried with backoff (a proxy leaves some unprocessed), a missing table named,
// and a job with a checkpoint, a failure and a restore: the table ends exactly as without failure.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTableCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { requireDynamoDb, testDynamoDbClient } from '../../../shared/testing/dynamodb-service.ts';
import { TEST_AWS_CREDENTIALS } from '../../../shared/testing/kinesis-service.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../../runtime/embedded-executor.ts';
import { GatedSource } from '../../testing/gated-source.ts';
import { TestingAwsFaultProxy } from '../kinesis/testing-aws-fault-proxy.ts';
import { DynamoDbSink, type DynamoDbSinkOptions } from './dynamodb-sink.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

interface Reading {
  readonly sensor: string;
  readonly day: number;
  readonly value: number;
}

let endpoint: string;
let client: DynamoDBClient;
let tableCounter = 0;

before(async () => {
  endpoint = await requireDynamoDb();
  client = testDynamoDbClient(endpoint);
});
after(() => client?.destroy());

const context = { subtaskIndex: 0, parallelism: 1, jobName: 'dynamodb-sink-test', job: { id: 'dynamodb-sink-test', submittedAtMs: 0 }, now: () => Date.now() };

/** A table keyed by sensor (hash) and day (range). */
async function createTable(prefix: string): Promise<string> {
  const tableName = `${prefix}-${process.pid}-${Date.now()}-${tableCounter++}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'sensor', KeyType: 'HASH' }, { AttributeName: 'day', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'sensor', AttributeType: 'S' }, { AttributeName: 'day', AttributeType: 'N' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return tableName;
}

async function scan(tableName: string): Promise<Map<string, number>> {
  const items = new Map<string, number>();
  let start: Record<string, never> | undefined;
  for (let page = 0; page < 100; page++) {
    const response = await client.send(new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
    for (const raw of response.Items ?? []) {
      const item = unmarshall(raw) as Reading;
      items.set(`${item.sensor}/${item.day}`, item.value);
    }
    start = response.LastEvaluatedKey as Record<string, never> | undefined;
    if (!start) return items;
  }
  throw new Error('too many scan pages');
}

function sink(tableName: string, extra: Partial<DynamoDbSinkOptions<Reading>> = {}): DynamoDbSink<Reading> {
  return new DynamoDbSink<Reading>({ tableName, endpoint, credentials: TEST_AWS_CREDENTIALS, retryBaseMs: 5, maxRetryBackoffMs: 50, ...extra });
}

/** 120 readings over 40 keys (4 sensors × 10 days), each key written 3 times with rising values. */
const readings: Reading[] = Array.from({ length: 120 }, (_, i) => ({ sensor: `s${i % 4}`, day: Math.floor(i / 4) % 10, value: i }));

/** The last value per key: what the table must hold. */
function lastValues(list: readonly Reading[]): Map<string, number> {
  const expected = new Map<string, number>();
  for (const r of list) expected.set(`${r.sensor}/${r.day}`, r.value);
  return expected;
}

describe('DynamoDB sink', () => {
  it('upserts by the table key: one item per key with its last value, and a replay of every record leaves the table the same', async () => {
    const table = await createTable('ddb-upsert');
    const first = sink(table);
    const writer = await first.createWriter(context);
    for (const r of readings) writer.write(r, 0);
    await writer.prepareCommit(1);
    await writer.close();
    assert.deepEqual(await scan(table), lastValues(readings));
    assert.equal(first.counters().itemsWritten, 40);
    assert.equal(first.counters().itemsMerged, 80, 'three writes of each key buffered together became one');

    // A replay after a restore: the same records again, through a new writer, in small flushes.
    const replay = sink(table, { maxBufferedItems: 7 });
    const again = await replay.createWriter(context);
    for (const r of readings) again.write(r, 0);
    await again.prepareCommit(2);
    await again.close();
    assert.deepEqual(await scan(table), lastValues(readings));
    assert.ok(replay.counters().batchWriteCalls > 10);
  });

  it('a flush of more than 25 keys sends BatchWriteItem calls of at most 25, and keys repeated in one flush never reach DynamoDB twice in a batch', async () => {
    const table = await createTable('ddb-batches');
    const s = sink(table, { maxBufferedItems: 1000 });
    const writer = await s.createWriter(context);
    const many = Array.from({ length: 260 }, (_, i) => ({ sensor: `s${i % 13}`, day: i % 5, value: i })); // 65 keys, 4 writes each
    for (const r of many) writer.write(r, 0);
    await writer.prepareCommit(1);
    await writer.close();
    assert.equal(s.counters().batchWriteCalls, 3); // 65 keys: 25 + 25 + 15
    assert.deepEqual(await scan(table), lastValues(many));
  });

  it('UnprocessedItems are sent again with backoff until written', async () => {
    const table = await createTable('ddb-unprocessed');
    // The first 3 calls process only their first 10 requests and hand the rest back unprocessed.
    const proxy = await TestingAwsFaultProxy.start(endpoint, async (call) => {
      if (call.operation !== 'BatchWriteItem' || call.index >= 3) return undefined;
      const requestItems = call.body.RequestItems as Record<string, unknown[]>;
      const requests = requestItems[table]!;
      await call.forward({ RequestItems: { [table]: requests.slice(0, 10) } });
      const rest = requests.slice(10);
      return { status: 200, body: { UnprocessedItems: rest.length > 0 ? { [table]: rest } : {} } };
    });
    try {
      const s = sink(table, { endpoint: proxy.url });
      const writer = await s.createWriter(context);
      for (const r of readings) writer.write(r, 0);
      await writer.prepareCommit(1);
      await writer.close();
      // 40 keys: batch 1 (25) → 15 back, those 15 → 5 back, those 5 → written (3 proxied calls); batch 2 (15) → written.
      assert.deepEqual(await scan(table), lastValues(readings));
      assert.equal(s.counters().itemsRetried, 15 + 5);
      assert.equal(s.counters().itemsWritten, 40);
    } finally {
      await proxy.close();
    }
  });

  it('a missing table and an item without the key are errors naming them', async () => {
    await assert.rejects(Promise.resolve(sink('no-such-table', { name: 'readings' }).createWriter(context)), /DynamoDB sink "readings": table "no-such-table" does not exist at http:\/\/127\.0\.0\.1:\d+ \(setting tableName\)/);
    const table = await createTable('ddb-nokey');
    const writer = await sink(table, { name: 'readings' }).createWriter(context);
    assert.throws(() => writer.write({ sensor: 's1', value: 3 } as unknown as Reading, 0), /DynamoDB sink "readings": an item has no key attribute "day" \(the key of table "ddb-nokey-\S+" is sensor, day\)/);
    await writer.close();
  });
});

describe('DynamoDB sink in a job', () => {
  it('a failure after a checkpoint and a restore from it leave exactly the items of an uninterrupted run', async () => {
    const table = await createTable('ddb-job');
    const storage = new InMemoryCheckpointStorage();
    const build = (source: GatedSource<Reading>) => {
      const env = new StreamExecutionEnvironment().setParallelism(2).setAutoWatermarkInterval(0);
      env
        .fromSource(source, WatermarkStrategy.noWatermarks<Reading>(), 'readings')
        .uid('src')
        .setParallelism(1)
        .map((r) => ({ ...r, value: r.value * 10 }))
        .uid('scale')
        .sinkTo(sink(table, { maxBufferedItems: 5 }))
        .uid('sink');
      return env;
    };
    const options = { jobName: 'ddb-job', properties: {}, clock: SystemClock.INSTANCE, logger: new InMemoryLogger(), stateBackend: 'memory' as const, checkpointStorage: storage, deadLetters: new InMemoryDeadLetterOutput(), checkpointIntervalMs: 10 };
    const first = new GatedSource<Reading>(readings);
    const executor = await EmbeddedExecutor.create(build(first), options);
    first.release(50);
    const running = executor.run();
    await waitFor('50 records read', 30_000, () => executor.getStatus().recordsRead === 50);
    const before = executor.getStatus().checkpoints.completed;
    await waitFor('a checkpoint after 50 records', 30_000, () => executor.getStatus().checkpoints.completed >= before + 2);
    first.release(30);
    await waitFor('80 records read', 30_000, () => executor.getStatus().recordsRead === 80);
    first.failAt = 80;
    first.release(40);
    await assert.rejects(running, /injected failure before record 80/);
    // Records 50..79 may be in the table already: the restore writes them again, which must not matter.
    const ids = await storage.listCompleted();
    const second = new GatedSource<Reading>(readings);
    second.releaseAllAndEnd();
    const restored = await EmbeddedExecutor.create(build(second), { ...options, restore: { storage, checkpointId: ids[ids.length - 1]! } });
    assert.equal((await restored.run()).state, 'finished');
    assert.deepEqual(await scan(table), lastValues(readings.map((r) => ({ ...r, value: r.value * 10 }))));
  });
});
