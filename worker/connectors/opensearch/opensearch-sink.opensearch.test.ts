// The OpenSearch sink against a real OpenSearch 2.19 node (scripts/services.sh start opensearch):
// documents indexed by the ids the records give, in batches; a replay overwrites instead of
// duplicating; documents refused with 429 (an index under the read-only-allow-delete block, which
// OpenSearch answers with TOO_MANY_REQUESTS per item) are resent alone after a backoff, and only
// they; permanent per-item errors name the document id; a job failing and restored ends with each
// document once.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import type { SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { requireOpenSearch } from '../../../shared/testing/opensearch-service.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../../runtime/embedded-executor.ts';
import { GatedSource } from '../../testing/gated-source.ts';
import { OpenSearchSink, type OpenSearchSinkWriterStatus } from './index.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

let url: string;
const indices: string[] = [];
let indexCounter = 0;

before(async () => {
  url = await requireOpenSearch();
});

after(async () => {
  if (indices.length > 0) await call('DELETE', `/${indices.join(',')}?ignore_unavailable=true`);
});

/** A request to the node; the parsed JSON answer. */
async function call(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** A new index (no replicas: one node) for one test; deleted at the end. */
async function createIndex(mappings?: unknown): Promise<string> {
  const name = `sluice-test-${process.pid}-${++indexCounter}`;
  indices.push(name);
  await call('PUT', `/${name}`, { settings: { number_of_replicas: 0 }, ...(mappings ? { mappings } : {}) });
  return name;
}

/** Every document of the index: id → { source, version }. */
async function documents(index: string): Promise<Map<string, { source: any; version: number }>> {
  await call('POST', `/${index}/_refresh`);
  const result = await call('POST', `/${index}/_search?version=true&size=1000`, { query: { match_all: {} } });
  return new Map(result.hits.hits.map((h: any) => [h._id, { source: h._source, version: h._version }]));
}

function context(): SinkWriterContext {
  return { subtaskIndex: 0, parallelism: 1, jobName: 'opensearch-sink-test', job: { id: 'opensearch-sink-test', submittedAtMs: 0 }, now: () => Date.now() };
}

function statusOf(writer: SinkWriter<unknown>): OpenSearchSinkWriterStatus {
  return (writer as unknown as { status(): OpenSearchSinkWriterStatus }).status();
}

interface Item {
  id: number;
  value: number;
  index?: string;
}

describe('bulk indexing with ids from the records', () => {
  it('sends batches of maxBatchDocuments, keeps the last write of an id, and a replay overwrites (new versions) instead of adding', async () => {
    const index = await createIndex();
    const sink = new OpenSearchSink<Item>({ node: url, index, documentId: (r) => `item-${r.id}`, maxBatchDocuments: 4, name: 'items' });
    const ids = [0, 1, 2, 3, 0, 4, 5, 1, 6, 2];
    const records = ids.map((id, i) => ({ id, value: i }));

    const writer = await sink.createWriter(context());
    for (const r of records) writer.write(r, 0);
    assert.equal(await writer.prepareCommit(1), undefined);
    assert.equal(statusOf(writer).bulkRequests, 3, 'ids 0-3, then 0,4,5,1, then 6,2 at the barrier');
    await writer.close();
    const first = await documents(index);
    assert.deepEqual(
      [...first].sort(([a], [b]) => a.localeCompare(b)).map(([id, d]) => [id, d.source.value, d.version]),
      [['item-0', 4, 2], ['item-1', 7, 2], ['item-2', 9, 2], ['item-3', 3, 1], ['item-4', 5, 1], ['item-5', 6, 1], ['item-6', 8, 1]],
    );

    const replay = await sink.createWriter(context());
    for (const r of records) replay.write(r, 0);
    await replay.prepareCommit(2);
    await replay.close();
    const second = await documents(index);
    assert.equal(second.size, 7, 'no document added by the replay');
    for (const [id, d] of second) assert.equal(d.source.value, first.get(id)!.source.value, id);
    // The replay writes each id as often as the first run did: the versions double.
    for (const [id, d] of second) assert.equal(d.version, 2 * first.get(id)!.version, `${id} was overwritten by the replay`);
  });

  it('a batch is also sent once it holds maxBatchBytes', async () => {
    const index = await createIndex();
    const sink = new OpenSearchSink<{ id: number; text: string }>({ node: url, index, documentId: (r) => r.id, maxBatchBytes: 3000 });
    const writer = await sink.createWriter(context());
    for (let id = 0; id < 10; id++) writer.write({ id, text: 'x'.repeat(1000) }, 0);
    await writer.prepareCommit(1);
    await writer.close();
    assert.equal(statusOf(writer).bulkRequests, 4, '~1060 bytes a document: 3 per request, then the last one');
    assert.equal((await documents(index)).size, 10);
  });
});

describe('documents refused with 429', () => {
  const block = (index: string, on: boolean) => call('PUT', `/${index}/_settings`, { 'index.blocks.read_only_allow_delete': on ? true : null });

  it('are resent alone after a backoff until the cluster takes them; documents it took are not sent again', async () => {
    const blocked = await createIndex();
    const open = await createIndex();
    await block(blocked, true);
    const sink = new OpenSearchSink<Item>({ node: url, index: (r) => r.index!, documentId: (r) => r.id, initialBackoffMs: 20, maxBackoffMs: 200, maxRetries: 1000 });
    const writer = await sink.createWriter(context());
    for (let id = 0; id < 6; id++) writer.write({ id, value: id, index: id % 2 === 0 ? blocked : open }, 0);
    const prepared = writer.prepareCommit(1);
    await waitFor('two rounds of retries of the blocked documents', 30_000, () => statusOf(writer).documentsRetried >= 6);
    await block(blocked, false);
    await prepared;
    await writer.close();
    const status = statusOf(writer);
    assert.equal(status.documentsWritten, 6);
    assert.equal(status.documentsRetried % 3, 0, 'only the 3 documents of the blocked index are resent');
    const inBlocked = await documents(blocked);
    const inOpen = await documents(open);
    assert.deepEqual([...inBlocked.keys()].sort(), ['0', '2', '4']);
    assert.deepEqual([...inOpen.keys()].sort(), ['1', '3', '5']);
    assert.ok([...inOpen.values()].every((d) => d.version === 1), 'the documents taken at once were not sent again');
  });

  it('fail with the ids once maxRetries is used up', async () => {
    const blocked = await createIndex();
    await block(blocked, true);
    try {
      const sink = new OpenSearchSink<Item>({ node: url, index: blocked, documentId: (r) => `doc-${r.id}`, initialBackoffMs: 5, maxRetries: 2, name: 'limited' });
      const writer = await sink.createWriter(context());
      writer.write({ id: 1, value: 1 }, 0);
      await assert.rejects(
        Promise.resolve(writer.prepareCommit(1)),
        new RegExp(`OpenSearch sink "limited": 1 document still refused after 2 retries by ${url.replace(/[.:/]/g, '\\$&')}: document "doc-1" in index "${blocked}": 429 cluster_block_exception`),
      );
      assert.equal(statusOf(writer).bulkRequests, 3);
      await writer.close();
    } finally {
      await block(blocked, false);
    }
  });
});

describe('clear errors', () => {
  it('a document the mapping refuses fails the flush, naming its id, index and reason; later writes fail too', async () => {
    const index = await createIndex({ properties: { count: { type: 'integer' } } });
    const sink = new OpenSearchSink<{ id: string; count: unknown }>({ node: url, index, documentId: (r) => r.id, name: 'counts' });
    const writer = await sink.createWriter(context());
    writer.write({ id: 'good-1', count: 1 }, 0);
    writer.write({ id: 'bad-1', count: 'not a number' }, 0);
    const refused = /OpenSearch sink "counts": 1 document refused by .*: document "bad-1" in index "[^"]+": 400 mapper_parsing_exception: failed to parse field \[count\]/;
    await assert.rejects(Promise.resolve(writer.prepareCommit(1)), refused);
    assert.throws(() => writer.write({ id: 'good-2', count: 2 }, 0), refused);
    await writer.close();
    assert.deepEqual([...(await documents(index)).keys()], ['good-1']);
  });

  it('an unreachable node names the node setting', async () => {
    const sink = new OpenSearchSink({ node: 'http://127.0.0.1:1', index: 'x', documentId: () => 'x', name: 'nowhere', requestTimeoutMs: 5000 });
    await assert.rejects(Promise.resolve(sink.createWriter(context())), /OpenSearch sink "nowhere": http:\/\/127\.0\.0\.1:1 unreachable \(setting node\)/);
  });

  it('a record without an id is refused, naming the documentId setting', async () => {
    const sink = new OpenSearchSink<{ id?: string }>({ node: url, index: 'x', documentId: (r) => r.id as string, name: 'ids' });
    const writer = await sink.createWriter(context());
    assert.throws(() => writer.write({}, 0), /OpenSearch sink "ids": documentId gave undefined for a record; .*\(setting documentId\)/);
    await writer.close();
  });
});

describe('a job failing and restored', () => {
  it('replays from the checkpoint and ends with every document once', async () => {
    const index = await createIndex();
    const events = Array.from({ length: 12 }, (_, i) => ({ seq: i, ts: i }));
    type Ev = (typeof events)[number];
    const storage = new InMemoryCheckpointStorage();
    const build = (source: GatedSource<Ev>) => {
      const env = new StreamExecutionEnvironment().setParallelism(1).setAutoWatermarkInterval(0);
      env
        .fromSource(source, WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.ts), 'events')
        .uid('src')
        .sinkTo(new OpenSearchSink<Ev>({ node: url, index, documentId: (e) => `event-${e.seq}` }))
        .uid('sink');
      return env;
    };
    const options = (extra = {}) => ({
      jobName: 'opensearch-job',
      properties: {},
      clock: SystemClock.INSTANCE,
      logger: new InMemoryLogger(),
      stateBackend: 'memory' as const,
      checkpointStorage: storage,
      deadLetters: new InMemoryDeadLetterOutput(),
      checkpointIntervalMs: 10,
      ...extra,
    });

    const first = new GatedSource<Ev>(events);
    const executor = await EmbeddedExecutor.create(build(first), options());
    first.release(5);
    const running = executor.run();
    await waitFor('5 documents indexed at a checkpoint', 30_000, async () => (await documents(index)).size === 5 && (await storage.listCompleted()).length > 0);
    first.failAt = 8;
    first.release(7);
    await assert.rejects(running, /injected failure before record 8/);

    const ids = await storage.listCompleted();
    const second = new GatedSource<Ev>(events);
    second.releaseAllAndEnd();
    const restored = await EmbeddedExecutor.create(build(second), options({ restore: { storage, checkpointId: ids[ids.length - 1]! } }));
    assert.equal((await restored.run()).state, 'finished');
    const docs = await documents(index);
    assert.deepEqual([...docs.keys()].sort(), events.map((e) => `event-${e.seq}`).sort());
    const hits = await call('POST', `/${index}/_count`, { query: { match_all: {} } });
    assert.equal(hits.count, events.length, 'no document twice');
  });
});
