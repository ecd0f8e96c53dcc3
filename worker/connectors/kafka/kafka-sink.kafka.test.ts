// The Kafka sink against the real broker (scripts/services.sh start kafka): at-least-once
// flushing on prepareCommit; exactly-once commits that are invisible to read_committed readers
// until the checkpoint completes, replayed commits after a crash that write nothing twice, a
// crashed transaction left open that never becomes visible, and two applications refused the
// same transactional id prefix.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import type { Admin } from 'kafkajs';
import type { SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { createTopics, requireKafka, testKafkaClient, uniqueTopicName } from '../../../shared/testing/kafka-service.ts';
import { KafkaSink, type KafkaSinkOptions } from './kafka-sink.ts';
import { readTopic } from './testing-topic-reader.ts';

let brokers: string[];
let admin: Admin;

before(async () => {
  brokers = await requireKafka();
  admin = testKafkaClient(brokers).admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
});

function context(jobName: string, subtaskIndex = 0, parallelism = 1): SinkWriterContext {
  return { jobName, job: { id: jobName, submittedAtMs: 0 }, subtaskIndex, parallelism, now: () => Date.now() };
}

async function writer<T>(options: KafkaSinkOptions<T>, ctx: SinkWriterContext): Promise<SinkWriter<T>> {
  return new KafkaSink<T>(options).createWriter(ctx);
}

async function values(topic: string, readUncommitted = false): Promise<string[]> {
  return (await readTopic(brokers, topic, { readUncommitted })).map((r) => r.value ?? '').sort();
}

describe('KafkaSink at-least-once', () => {
  it('every record written before prepareCommit is in the topic when it returns, keyed as asked', async () => {
    const topic = uniqueTopicName('sink-alo');
    await createTopics(admin, [{ topic, partitions: 2 }]);
    const w = await writer<{ id: number }>({ brokers, topic, key: (v) => `k${v.id % 3}`, batchRecords: 7 }, context('alo'));
    for (let i = 0; i < 50; i++) w.write({ id: i }, 1_700_000_000_000 + i);
    assert.equal(await w.prepareCommit(1), undefined);
    await w.close();
    const records = await readTopic(brokers, topic);
    assert.deepEqual(records.map((r) => JSON.parse(r.value!).id).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    // One key, one partition.
    const partitionOfKey = new Map<string, Set<number>>();
    for (const r of records) (partitionOfKey.get(r.key!) ?? partitionOfKey.set(r.key!, new Set()).get(r.key!)!).add(r.partition);
    assert.deepEqual([...partitionOfKey.values()].map((s) => s.size), [1, 1, 1]);
  });

  it('names a missing topic', async () => {
    const topic = uniqueTopicName('sink-missing');
    const w = await writer<number>({ brokers, topic, name: 'out' }, context('alo'));
    w.write(1, 0);
    await assert.rejects(Promise.resolve(w.prepareCommit(1)), /Kafka sink "out": .*topic/);
    await w.close();
  });
});

describe('KafkaSink exactly-once', () => {
  async function setup(prefix: string) {
    const topic = uniqueTopicName('sink-eo');
    const markerTopic = uniqueTopicName('markers');
    await createTopics(admin, [{ topic, partitions: 2 }]);
    const options: KafkaSinkOptions<string> = { brokers, topic, serializer: 'string', deliveryGuarantee: 'exactly-once', transactionalIdPrefix: uniqueTopicName(prefix), markerTopic };
    return { topic, options };
  }

  it('records are invisible to read_committed readers until commit; a replayed commit writes nothing twice', async () => {
    const { topic, options } = await setup('eo');
    const w = await writer(options, context('job-a'));
    for (const v of ['a', 'b', 'c']) w.write(v, 0);
    const first = await w.prepareCommit(1);
    w.write('d', 0);
    const second = await w.prepareCommit(2);
    assert.deepEqual(await values(topic, true), [], 'nothing is even sent before the checkpoint completes');
    await w.commit([first]);
    assert.deepEqual(await values(topic), ['a', 'b', 'c']);
    await w.commit([first, second]); // the runtime may hand an older committable again
    assert.deepEqual(await values(topic), ['a', 'b', 'c', 'd']);
    await w.close();
    // A restored writer (a new run) is handed the same committables: the markers cover them.
    const restored = await writer(options, context('job-a'));
    await restored.commit([first, second]);
    await restored.close();
    assert.deepEqual(await values(topic), ['a', 'b', 'c', 'd']);
  });

  it('a crash between the checkpoint and the commit: the restored writer commits once, nothing lost or doubled', async () => {
    const { topic, options } = await setup('eo-crash');
    const w = await writer(options, context('job-b'));
    for (let i = 0; i < 100; i++) w.write(`r${i}`, 0);
    const committable = await w.prepareCommit(7);
    await w.close(); // the process dies: the checkpoint holds the committable, no commit happened
    assert.deepEqual(await values(topic, true), []);
    const restored = await writer(options, context('job-b'));
    await restored.commit([committable]);
    // ... and the restored job fails again right after committing, and restores once more.
    const again = await writer(options, context('job-b'));
    await again.commit([committable]);
    await Promise.all([restored.close(), again.close()]);
    const seen = await values(topic);
    assert.equal(seen.length, 100);
    assert.equal(new Set(seen).size, 100);
  });

  it('a transaction a crashed incarnation left open never becomes visible', async () => {
    const { topic, options } = await setup('eo-open');
    const w = await writer(options, context('job-c'));
    await w.close();
    // The crashed incarnation: same transactional id, records sent, never committed.
    const crashed = testKafkaClient(brokers).producer({ transactionalId: `${options.transactionalIdPrefix}-0`, idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await crashed.connect();
    const tx = await crashed.transaction();
    await tx.send({ topic, messages: [{ value: 'half-written' }] });
    const restored = await writer(options, context('job-c')); // fences it and aborts its transaction
    restored.write('after', 0);
    await restored.commit([await restored.prepareCommit(1)]);
    await restored.close();
    await crashed.disconnect().catch(() => {});
    assert.deepEqual(await values(topic), ['after']);
    assert.deepEqual(await values(topic, true), ['after', 'half-written'], 'the aborted records are in the log, hidden from read_committed');
  });

  it('a writer killed mid-commit (its marker sent, its transaction open) does not hold up the next one', async () => {
    const { topic, options } = await setup('eo-mid-commit');
    const w = await writer(options, context('job-m'));
    await w.close();
    // What a writer killed between sending its commit marker and ending the transaction leaves.
    const crashed = testKafkaClient(brokers).producer({ transactionalId: `${options.transactionalIdPrefix}-0`, idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await crashed.connect();
    const tx = await crashed.transaction();
    await tx.send({ topic, messages: [{ value: 'half-written' }] });
    await tx.send({ topic: options.markerTopic!, messages: [{ key: `commit/${options.transactionalIdPrefix}/0`, value: JSON.stringify({ runs: {} }) }] });
    // Without fencing first, reading the marker topic waits for that transaction to time out
    // (60 s) and the writer fails; fenced, the restored writer starts and commits.
    const restored = await writer(options, context('job-m'));
    restored.write('after', 0);
    await restored.commit([await restored.prepareCommit(1)]);
    await restored.close();
    await crashed.disconnect().catch(() => {});
    assert.deepEqual(await values(topic), ['after']);
  });

  it('refuses a second application with the same transactional id prefix, naming the setting and the owner', async () => {
    const { options } = await setup('eo-claim');
    const owner = await writer(options, context('application-one', 0, 2));
    await assert.rejects(writer(options, context('application-two', 1, 2)), (e: Error) => {
      assert.ok(e instanceof ConfigurationError, `${e.name}: ${e.message}`);
      assert.equal(e.field, 'transactionalIdPrefix');
      assert.match(e.message, /belongs to application "application-one"/);
      return true;
    });
    // The owner's other subtasks and its restarts are welcome.
    const sibling = await writer(options, context('application-one', 1, 2));
    await Promise.all([owner.close(), sibling.close()]);
  });

  it('two jobs of one application: the later one writes, the earlier one fails at its next commit and is refused from then on', async () => {
    const { topic, options } = await setup('eo-jobs');
    const job = (id: string, submittedAtMs: number, subtaskIndex: number, parallelism: number): SinkWriterContext => ({ ...context('the-application', subtaskIndex, parallelism), job: { id, submittedAtMs } });
    // The earlier job runs at parallelism 3; its later replacement (a restore from its snapshot) at 2.
    const earlier = await Promise.all([0, 1, 2].map((i) => writer(options, job('job-1', 1_000, i, 3))));
    for (const [i, w] of earlier.entries()) w.write(`early-${i}`, 0);
    await Promise.all(earlier.map(async (w) => w.commit([await w.prepareCommit(1)])));
    const later = await Promise.all([0, 1].map((i) => writer(options, job('job-2', 2_000, i, 2))));
    for (const [i, w] of later.entries()) w.write(`late-${i}`, 0);
    await Promise.all(later.map(async (w) => w.commit([await w.prepareCommit(1)])));

    // Every writer of the earlier job was fenced, also subtask 2, which no writer of the later job runs.
    for (const [i, w] of earlier.entries()) {
      w.write(`early-after-${i}`, 0);
      await assert.rejects(Promise.resolve(w.prepareCommit(2)).then((c) => w.commit([c])), /committing checkpoint 2/, `earlier job's subtask ${i} committed after the later job started`);
      await w.close();
    }
    // A restart of the earlier job is refused, naming the setting and the later job, and fences nothing.
    await assert.rejects(writer(options, job('job-1', 1_000, 0, 3)), (e: Error) => {
      assert.ok(e instanceof ConfigurationError, `${e.name}: ${e.message}`);
      assert.equal(e.field, 'transactionalIdPrefix');
      assert.match(e.message, /written by job job-2 .*after this job job-1/);
      return true;
    });
    // The later job commits on, and restarts of it are welcome.
    for (const [i, w] of later.entries()) w.write(`late-again-${i}`, 0);
    await Promise.all(later.map(async (w) => w.commit([await w.prepareCommit(2)])));
    await Promise.all(later.map((w) => w.close()));
    const restarted = await writer(options, job('job-2', 2_000, 0, 2));
    await restarted.close();
    assert.deepEqual((await values(topic)).sort(), ['early-0', 'early-1', 'early-2', 'late-0', 'late-1', 'late-again-0', 'late-again-1']);
  });
});
