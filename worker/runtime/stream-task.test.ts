// A subtask's input side: watermarks merged over channels (idle and ended channels do not hold
// it back, it never goes back), barrier alignment (a channel that delivered barrier n waits for
// the others), and the end of input.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { DiscardingOutput } from './output.ts';
import { InputChannel } from './exchange.ts';
import type { TaskVertex } from './job-plan.ts';
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
