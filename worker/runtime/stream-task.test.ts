// A subtask's input side: watermarks merged over channels (idle and ended channels do not hold
// it back, it never goes back), barrier alignment (a channel that delivered barrier n waits for
// the others; a newer barrier or abortCheckpoint aborts the alignment), and the end of input.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WatermarkStrategy } from '../../shared/api/watermark-strategy.ts';
import { ManualClock } from '../../shared/clock.ts';
import { SourceOperator } from '../operators/source-operator.ts';
import { ScriptedBoundedSource } from '../testing/scripted-bounded-source.ts';
import { InMemoryDeadLetterOutput } from './dead-letter.ts';
import { DiscardingOutput } from './output.ts';
import { ExchangeOutput, InputChannel, type ChannelEvent } from './exchange.ts';
import type { TaskVertex } from '../../shared/plan/job-plan.ts';
import { AbstractStreamOperator, type OperatorSnapshot } from './stream-operator.ts';
import { StreamTask } from './stream-task.ts';

class RecordingOperator extends AbstractStreamOperator {
  readonly events: string[] = [];
  processElement(value: unknown): void {
    this.events.push(`record ${String(value)}`);
  }
  override processWatermark(watermark: number): void {
    this.events.push(`watermark ${watermark}`);
  }
  override processIdle(idle: boolean): void {
    this.events.push(idle ? 'idle' : 'active');
  }
  override endInput(): void {
    this.events.push('end');
  }
  override async snapshotState(checkpointId: number): Promise<OperatorSnapshot> {
    this.events.push(`snapshot ${checkpointId}`);
    return {};
  }
}

function task(channelCount: number) {
  const head = new RecordingOperator();
  head.setup({ uid: 'op', name: 'op', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, properties: {}, clock: new ManualClock(), output: new DiscardingOutput() });
  const acknowledged: number[] = [];
  const vertex: TaskVertex = { id: 0, name: 'op', nodeIds: [0], parallelism: 1, inputs: [], isSource: false };
  const t = new StreamTask(vertex, 0, [{ uid: 'op', operator: head }], {
    acknowledgeCheckpoint: (_task, id) => acknowledged.push(id),
  });
  const channels = Array.from({ length: channelCount }, (_, i) => {
    const channel = new InputChannel(0, `in-${i}`, () => (t.hasInput = true));
    t.addChannel(channel);
    return channel;
  });
  return { t, head, channels, acknowledged };
}

const records = (...values: number[]) => ({ kind: 'records' as const, values, timestamps: values.map(() => 0) });

describe('a subtask merging its input channels', () => {
  it('interrupts a long batch at its deadline, every 64 records, and finishes it before the barrier behind it', () => {
    const { t, head, channels, acknowledged } = task(1);
    channels[0]!.push(records(...Array.from({ length: 150 }, (_, i) => i)));
    channels[0]!.push({ kind: 'barrier', checkpointId: 3 });
    const passed = () => performance.now() - 1;
    t.processInput(Number.POSITIVE_INFINITY, passed());
    assert.equal(head.events.length, 64, 'the first 64 records, then the clock says stop');
    assert.equal(t.hasInput, true);
    t.processInput(Number.POSITIVE_INFINITY, passed());
    assert.equal(head.events.length, 128);
    assert.deepEqual(acknowledged, [], 'the barrier waits behind the rest of the batch');
    t.processInput(Number.POSITIVE_INFINITY, passed());
    assert.equal(head.events.length, 150, 'the rest of the batch; the deadline has passed, so the barrier waits for the next step');
    assert.deepEqual(acknowledged, []);
    t.processInput();
    assert.deepEqual(head.events.filter((e) => e.startsWith('record')), Array.from({ length: 150 }, (_, i) => `record ${i}`), 'every record once, in order');
    assert.equal(head.events.at(-1), 'snapshot 3');
    assert.deepEqual(acknowledged, [3]);
    assert.equal(t.recordsIn, 150);
  });

  it('stops taking batches once its deadline has passed, after the first, and keeps the rest for the next step', () => {
    const { t, head, channels } = task(1);
    for (let i = 0; i < 3; i++) channels[0]!.push(records(i));
    assert.equal(t.processInput(Number.POSITIVE_INFINITY, performance.now() - 1), true, 'a deadline already passed still lets one batch through');
    assert.deepEqual(head.events, ['record 0']);
    assert.equal(t.hasInput, true, 'what is left waits for the next step');
    t.processInput(Number.POSITIVE_INFINITY, performance.now() + 60_000);
    assert.deepEqual(head.events, ['record 0', 'record 1', 'record 2']);
    assert.equal(t.hasInput, false);
  });

  it('advances the watermark to the minimum over channels, never back', () => {
    const { t, head, channels } = task(2);
    channels[0]!.push({ kind: 'watermark', watermark: 100 });
    t.processInput();
    channels[1]!.push({ kind: 'watermark', watermark: 50 });
    t.processInput();
    channels[1]!.push({ kind: 'watermark', watermark: 150 });
    channels[0]!.push({ kind: 'watermark', watermark: 120 });
    t.processInput();
    assert.deepEqual(head.events, ['watermark 50', 'watermark 120']);
  });

  it('ignores idle channels, and goes idle when all are', () => {
    const { t, head, channels } = task(2);
    channels[0]!.push({ kind: 'watermark', watermark: 100 });
    channels[1]!.push({ kind: 'watermark', watermark: 10 });
    t.processInput();
    channels[1]!.push({ kind: 'idle', idle: true });
    t.processInput();
    channels[0]!.push({ kind: 'idle', idle: true });
    t.processInput();
    channels[1]!.push({ kind: 'watermark', watermark: 5 }); // back, but behind: no regression
    channels[1]!.push({ kind: 'watermark', watermark: 200 });
    t.processInput();
    assert.deepEqual(head.events, ['watermark 10', 'watermark 100', 'idle', 'active', 'watermark 200']);
  });

  it('holds a channel back after its barrier until every live channel has delivered it', () => {
    const { t, head, channels, acknowledged } = task(2);
    channels[0]!.push(records(1));
    channels[0]!.push({ kind: 'barrier', checkpointId: 7 });
    channels[0]!.push(records(2)); // after the barrier: must wait
    channels[1]!.push(records(10));
    t.processInput();
    assert.deepEqual(head.events, ['record 1', 'record 10']);
    assert.deepEqual(acknowledged, []);
    channels[1]!.push({ kind: 'barrier', checkpointId: 7 });
    t.processInput();
    assert.deepEqual(head.events, ['record 1', 'record 10', 'snapshot 7', 'record 2']);
    assert.deepEqual(acknowledged, [7]);
  });

  it('aborts the alignment of checkpoint n when barrier n+1 arrives, and processes what its channels held back first', () => {
    const { t, head, channels, acknowledged } = task(2);
    const [a, b] = channels;
    a!.push({ kind: 'barrier', checkpointId: 5 }); // checkpoint 5 never reaches b's source
    a!.push(records(1));
    a!.push({ kind: 'barrier', checkpointId: 6 });
    a!.push(records(2));
    t.processInput();
    assert.deepEqual(head.events, [], 'a is held back at barrier 5');
    b!.push(records(10));
    b!.push({ kind: 'barrier', checkpointId: 6 });
    b!.push(records(11));
    t.processInput();
    // Record 1 precedes barrier 6 on a: snapshot 6 must include it.
    assert.deepEqual(head.events, ['record 10', 'record 1', 'snapshot 6', 'record 2', 'record 11']);
    assert.deepEqual(acknowledged, [6]);
    assert.ok(!a!.blocked && !b!.blocked);
  });

  it('ignores a barrier of a checkpoint older than the one it aligned last', () => {
    const { t, head, channels, acknowledged } = task(2);
    const [a, b] = channels;
    a!.push({ kind: 'barrier', checkpointId: 6 });
    b!.push({ kind: 'barrier', checkpointId: 6 });
    t.processInput();
    a!.push({ kind: 'barrier', checkpointId: 5 }); // a late trigger of an aborted checkpoint
    a!.push(records(1));
    b!.push({ kind: 'barrier', checkpointId: 6 }); // a repeated trigger
    b!.push(records(2));
    t.processInput();
    assert.deepEqual(head.events, ['snapshot 6', 'record 1', 'record 2']);
    assert.deepEqual(acknowledged, [6]);
  });

  it('abortCheckpoint releases the channels aligned for that checkpoint and ignores its later barriers', () => {
    const { t, head, channels, acknowledged } = task(2);
    const [a, b] = channels;
    a!.push({ kind: 'barrier', checkpointId: 5 });
    a!.push(records(1));
    b!.push(records(10));
    t.processInput();
    assert.deepEqual(head.events, ['record 10']);
    t.abortCheckpoint(4); // older than the alignment in progress: no effect
    assert.equal(t.processInput(), false);
    assert.ok(a!.blocked);
    t.abortCheckpoint(5);
    assert.equal(t.hasInput, true, 'the worker must process the released channel');
    t.processInput();
    assert.deepEqual(head.events, ['record 10', 'record 1']);
    b!.push({ kind: 'barrier', checkpointId: 5 }); // the aborted checkpoint's barrier, late
    b!.push(records(11));
    t.processInput();
    assert.deepEqual(head.events, ['record 10', 'record 1', 'record 11'], 'a late barrier of an aborted checkpoint holds nothing back');
    a!.push({ kind: 'barrier', checkpointId: 6 });
    b!.push({ kind: 'barrier', checkpointId: 6 });
    t.processInput();
    assert.deepEqual(head.events, ['record 10', 'record 1', 'record 11', 'snapshot 6']);
    assert.deepEqual(acknowledged, [6]);
  });

  it('abortCheckpoint before any barrier of that checkpoint arrived makes its barriers stale', () => {
    const { t, head, channels, acknowledged } = task(2);
    const [a, b] = channels;
    t.abortCheckpoint(3);
    a!.push({ kind: 'barrier', checkpointId: 3 });
    a!.push(records(1));
    t.processInput();
    assert.deepEqual(head.events, ['record 1']);
    assert.ok(!a!.blocked && !b!.blocked);
    assert.deepEqual(acknowledged, []);
  });

  it('does not wait for the barrier of a channel that has ended', () => {
    const { t, head, channels, acknowledged } = task(2);
    channels[1]!.push({ kind: 'watermark', watermark: Number.POSITIVE_INFINITY });
    channels[1]!.push({ kind: 'end' });
    channels[0]!.push({ kind: 'barrier', checkpointId: 3 });
    channels[0]!.push(records(4));
    t.processInput();
    assert.deepEqual(acknowledged, [3]);
    assert.deepEqual(head.events, ['snapshot 3', 'record 4']);
  });

  it('finishes when every channel has ended, after the final watermark', () => {
    const { t, head, channels } = task(2);
    channels[0]!.push({ kind: 'end' });
    t.processInput();
    assert.equal(t.status, 'running');
    channels[1]!.push({ kind: 'watermark', watermark: 30 });
    channels[1]!.push({ kind: 'end' });
    t.processInput();
    assert.equal(t.status, 'finished');
    assert.deepEqual(head.events, ['watermark 30', 'watermark Infinity', 'end', 'snapshot 9007199254740991']);
  });
});

describe('a source subtask', () => {
  it('injects one barrier per checkpoint: a repeated trigger, or one of an older or aborted checkpoint, injects none', async () => {
    const downstream = new InputChannel(0, 'down', () => {});
    const exchange = new ExchangeOutput([downstream], { partitioning: 'forward', producerIndex: 0, batchSize: 1024, maxParallelism: 128 });
    const source = new SourceOperator(new ScriptedBoundedSource([1]), WatermarkStrategy.noWatermarks(), 0, new InMemoryDeadLetterOutput());
    source.setup({ uid: 'src', name: 'src', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, properties: {}, clock: new ManualClock(), output: exchange });
    await source.initialize([{ id: 'script', position: 0 }]);
    const vertex: TaskVertex = { id: 0, name: 'src', nodeIds: [0], parallelism: 1, inputs: [], isSource: true };
    const acknowledged: number[] = [];
    const t = new StreamTask(vertex, 0, [{ uid: 'src', operator: source }], { acknowledgeCheckpoint: (_task, id) => acknowledged.push(id) });
    t.exchangeOutputs.push(exchange);
    t.triggerCheckpoint(4);
    t.triggerCheckpoint(4); // a retried trigger
    t.triggerCheckpoint(3); // a trigger that arrived late
    t.abortCheckpoint(5);
    t.triggerCheckpoint(5); // the aborted checkpoint's trigger, late
    t.triggerCheckpoint(6);
    const events: ChannelEvent[] = [];
    for (let event = downstream.take(); event !== undefined; event = downstream.take()) events.push(event);
    assert.deepEqual(events.filter((e) => e.kind === 'barrier').map((e) => e.checkpointId), [4, 6]);
    assert.deepEqual(acknowledged, [4, 6]);
  });
});
