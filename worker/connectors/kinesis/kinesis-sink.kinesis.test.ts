// The Kinesis sink against kinesalite: batches within Kinesis's limits, prepareCommit returning
// only once every record is in the stream, partial failures (a proxy failing some entries of
// PutRecords) retried for the failed entries only, the oversize-record error and a missing stream.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SinkWriter } from '../../../shared/api/connectors.ts';
import { requireKinesis, testKinesisClient, TEST_AWS_CREDENTIALS } from '../../../shared/testing/kinesis-service.ts';
import { KinesisSink, type KinesisSinkOptions } from './kinesis-sink.ts';
import { KinesisSource } from './kinesis-source.ts';
import { TestingAwsFaultProxy, type ProxiedResponse } from './testing-aws-fault-proxy.ts';
import { createTestStream, ReaderHarness } from './testing-kinesis.ts';

interface Row {
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

const context = { subtaskIndex: 0, parallelism: 1, jobName: 'kinesis-sink-test', job: { id: 'kinesis-sink-test', submittedAtMs: 0 }, now: () => Date.now() };

function sink(streamName: string, extra: Partial<KinesisSinkOptions<Row>> = {}): KinesisSink<Row> {
  return new KinesisSink<Row>({ streamName, endpoint, credentials: TEST_AWS_CREDENTIALS, partitionKey: (r) => r.key, retryBaseMs: 5, maxRetryBackoffMs: 50, ...extra });
}

/** Everything in the stream, read back with the source. */
async function readBack(streamName: string, count: number): Promise<Row[]> {
  const harness = await ReaderHarness.start(new KinesisSource<Row>({ streamName, endpoint, credentials: TEST_AWS_CREDENTIALS, startPosition: 'TRIM_HORIZON', idleFetchIntervalMs: 20 }), 1);
  try {
    await harness.pollUntil(() => harness.emitted.length >= count, `${count} records in ${streamName}`, 30_000, 1000);
    return harness.emitted.map((e) => e.value);
  } finally {
    await harness.close();
  }
}

function rows(count: number, keys: number): Row[] {
  const next = new Map<string, number>();
  return Array.from({ length: count }, (_, i) => {
    const key = `k${i % keys}`;
    const n = next.get(key) ?? 0;
    next.set(key, n + 1);
    return { key, n };
  });
}

function assertPerKeyExactly(read: readonly Row[], written: readonly Row[], inOrder: boolean): void {
  const group = (list: readonly Row[]) => {
    const byKey = new Map<string, number[]>();
    for (const r of list) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.n]);
    if (!inOrder) for (const ns of byKey.values()) ns.sort((a, b) => a - b);
    return byKey;
  };
  assert.deepEqual(group(read), group(written));
}

async function writeAll(writer: SinkWriter<Row>, list: readonly Row[]): Promise<void> {
  for (const r of list) writer.write(r, 0);
  await writer.prepareCommit(1);
}

describe('Kinesis sink', () => {
  it('writes 1200 records in PutRecords batches of at most 500; prepareCommit returns once all are in the stream, per key in order', async () => {
    const stream = await createTestStream(client, 'sink-batches', 2);
    const s = sink(stream);
    const writer = await s.createWriter(context);
    const written = rows(1200, 7);
    await writeAll(writer, written);
    assert.equal(s.counters().recordsAcknowledged, 1200, 'acknowledged before prepareCommit returned');
    assert.equal(s.counters().putRecordsCalls, 3);
    await writer.close();
    assertPerKeyExactly(await readBack(stream, 1200), written, true);
  });

  it('batches by bytes too: maxBatchBytes 20 KiB with 1 KiB records sends about 20 per call', async () => {
    const stream = await createTestStream(client, 'sink-bytes', 1);
    const s = sink(stream, { maxBatchBytes: 20 * 1024, serialize: (r) => JSON.stringify({ ...r, pad: 'x'.repeat(1000) }) });
    const writer = await s.createWriter(context);
    await writeAll(writer, rows(100, 3));
    assert.ok(s.counters().putRecordsCalls >= 5 && s.counters().putRecordsCalls <= 6, `calls: ${s.counters().putRecordsCalls}`);
    await writer.close();
  });

  it('a partial failure resends only the failed entries, with backoff, until all are in: nothing lost, nothing twice', async () => {
    const stream = await createTestStream(client, 'sink-partial', 2);
    // The first 3 PutRecords calls: every third entry is refused as throttled; the others are written.
    const proxy = await TestingAwsFaultProxy.start(endpoint, async (call): Promise<ProxiedResponse | undefined> => {
      if (call.operation !== 'PutRecords' || call.index >= 3) return undefined;
      const entries = call.body.Records as unknown[];
      const kept = entries.filter((_, i) => i % 3 !== 0);
      const real = await call.forward({ ...call.body, Records: kept });
      const results = (real.body as { Records: unknown[] }).Records;
      let next = 0;
      const merged = entries.map((_, i) => (i % 3 === 0 ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' } : results[next++]));
      return { status: 200, body: { FailedRecordCount: entries.length - kept.length, Records: merged } };
    });
    try {
      const s = sink(stream, { endpoint: proxy.url });
      const writer = await s.createWriter(context);
      const written = rows(300, 5);
      await writeAll(writer, written);
      await writer.close();
      // Call 1: 300 sent, 100 failed; call 2: those 100, 34 failed; call 3: 34, 12 failed; call 4: 12 pass.
      assert.deepEqual({ calls: s.counters().putRecordsCalls, retried: s.counters().entriesRetried }, { calls: 4, retried: 100 + 34 + 12 });
      assert.equal(proxy.count('PutRecords'), 4);
      // A retried entry may land after later entries of its key (as with Kinesis's own clients): compare as sets.
      assertPerKeyExactly(await readBack(stream, 300), written, false);
    } finally {
      await proxy.close();
    }
  });

  it('fails the job once maxRetries is spent, naming the connector and the setting', async () => {
    const stream = await createTestStream(client, 'sink-giveup', 1);
    const proxy = await TestingAwsFaultProxy.start(endpoint, (call) => {
      if (call.operation !== 'PutRecords') return undefined;
      const entries = call.body.Records as unknown[];
      return { status: 200, body: { FailedRecordCount: entries.length, Records: entries.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'injected' })) } };
    });
    try {
      const writer = await sink(stream, { endpoint: proxy.url, name: 'out', maxRetries: 3 }).createWriter(context);
      writer.write({ key: 'a', n: 0 }, 0);
      await assert.rejects(Promise.resolve(writer.prepareCommit(1)), /Kinesis sink "out": PutRecords to stream "sink-giveup-\S+" still failing after 3 retries: 1 of 1 entries failed, e\.g\. InternalFailure: injected \(setting maxRetries\)/);
      assert.equal(proxy.count('PutRecords'), 4);
      await writer.close();
    } finally {
      await proxy.close();
    }
  });

  it('a record over 1 MiB is an error naming it; a missing stream names the setting', async () => {
    const stream = await createTestStream(client, 'sink-oversize', 1);
    const writer = await sink(stream, { name: 'out', serialize: (r) => (r.key === 'big' ? 'y'.repeat(1024 * 1024) : JSON.stringify(r)) }).createWriter(context);
    writer.write({ key: 'small', n: 0 }, 0);
    assert.throws(() => writer.write({ key: 'big', n: 1 }, 0), /Kinesis sink "out": the record with partition key "big" has 1048579 bytes \(data and key\), over Kinesis's limit of 1048576; it starts "yyyy/);
    await writer.close();

    const missing = await sink('no-such-stream', { name: 'out' }).createWriter(context);
    missing.write({ key: 'a', n: 0 }, 0);
    await assert.rejects(Promise.resolve(missing.prepareCommit(1)), /Kinesis sink "out": stream "no-such-stream" does not exist at http:\/\/127\.0\.0\.1:\d+ \(setting streamName\)/);
    await missing.close();
  });
});
