// The in-band side of a live rescale, on one subtask and one exchange: at the rescale barrier an
// exchange switches to the new consumers (which get the barrier and the last watermark first), a
// keyed subtask goes on processing the key groups it keeps while it holds back the ones it gains,
// until their state is in; a retiring subtask ends its outputs and stops.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { assignToKeyGroup, KeyGroupRange, keyGroupRangeForSubtask } from '../../shared/key-groups.ts';
import { InMemoryKeyedStateBackend } from '../state/memory-state-backend.ts';
import { ExchangeOutput, InputChannel, type ChannelEvent, type ChannelTarget } from './exchange.ts';
import type { TaskVertex } from '../../shared/plan/job-plan.ts';
import { DiscardingOutput } from './output.ts';
import { AbstractStreamOperator } from './stream-operator.ts';
import { StreamTask } from './stream-task.ts';

const MAX_PARALLELISM = 128;

interface Keyed {
  readonly key: string;
}

class RecordingKeyedOperator extends AbstractStreamOperator {
  readonly events: string[] = [];
  processElement(value: unknown): void {
    this.events.push(`record ${(value as Keyed).key}`);
  }
  override processWatermark(watermark: number): void {
    this.events.push(`watermark ${watermark}`);
  }
}

class CollectingTarget implements ChannelTarget {
  readonly events: ChannelEvent[] = [];
  push(event: ChannelEvent): void {
    this.events.push(event);
  }
  /** The events, records batches as the keys they hold. */
  summary(): string[] {
    return this.events.map((e) => (e.kind === 'records' ? `records ${e.values.map((v) => (v as Keyed).key).join(',')}` : e.kind === 'watermark' ? `watermark ${e.watermark}` : e.kind === 'barrier' ? `barrier ${e.checkpointId}` : e.kind));
  }
}

/** The first key `key-N` whose key group lies in `range`. */
function keyIn(range: KeyGroupRange, skip = 0): string {
  let found = 0;
  for (let i = 0; i < 100_000; i++) if (range.contains(assignToKeyGroup(`key-${i}`, MAX_PARALLELISM)) && found++ === skip) return `key-${i}`;
  throw new Error(`no key in ${range.startKeyGroup}..${range.endKeyGroup}`);
}

/** Subtask 0 of a keyed task at parallelism 3, with two input channels. */
function keyedSubtask() {
  const range = keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 0);
  const backend = new InMemoryKeyedStateBackend({ keyGroupRange: range, maxParallelism: MAX_PARALLELISM });
  const head = new RecordingKeyedOperator();
  head.setup({
    uid: 'count',
    name: 'count',
    subtaskIndex: 0,
    parallelism: 3,
    maxParallelism: MAX_PARALLELISM,
    properties: {},
    clock: new ManualClock(),
    output: new DiscardingOutput(),
    keyed: { backend, keySelectors: [(v: Keyed) => v.key] },
  });
  const vertex: TaskVertex = { id: 1, name: 'count', nodeIds: [1], parallelism: 3, inputs: [], isSource: false };
  const acknowledged: number[] = [];
  const task = new StreamTask(vertex, 0, [{ uid: 'count', operator: head }], { acknowledgeCheckpoint: (_t, id) => acknowledged.push(id) });
  const channels = [0, 1].map((i) => {
    const channel = new InputChannel(0, `in-${i}`, () => (task.hasInput = true));
    task.addChannel(channel);
    return channel;
  });
  return { task, head, backend, channels, acknowledged, range };
}

const records = (...keys: string[]) => ({ kind: 'records' as const, values: keys.map((key) => ({ key })), timestamps: keys.map(() => 0) });

describe('live rescale, in band', () => {
  it('an exchange sends the barrier and its last watermark to the consumers that join, then partitions over the new ones', () => {
    const targets = [0, 1].map(() => new CollectingTarget());
    const exchange = new ExchangeOutput(targets, { partitioning: 'hash', keySelector: (v: Keyed) => v.key, maxParallelism: MAX_PARALLELISM, producerIndex: 0, batchSize: 100 });
    const next = [targets[0]!, targets[1]!, new CollectingTarget(), new CollectingTarget()];
    exchange.prepareRescale(5, next);
    const upper = keyIn(keyGroupRangeForSubtask(MAX_PARALLELISM, 4, 3)); // subtask 1 of 2 before, subtask 3 of 4 after
    exchange.emitWatermark(40);
    exchange.collect({ key: upper }, 0);
    exchange.emitBarrier(5);
    exchange.collect({ key: upper }, 0);
    exchange.flush();
    assert.deepEqual(targets[1]!.summary(), ['watermark 40', `records ${upper}`, 'barrier 5']);
    assert.deepEqual(next[2]!.summary(), ['barrier 5', 'watermark 40']);
    assert.deepEqual(next[3]!.summary(), ['barrier 5', 'watermark 40', `records ${upper}`]);
    exchange.emitBarrier(6);
    assert.equal(next[2]!.summary().at(-1), 'barrier 6', 'later barriers reach every new consumer');
  });

  it('a keyed subtask processes the key groups it keeps and holds back the ones it gains, with the watermark, until their state is in', async () => {
    const { task, head, channels, acknowledged } = keyedSubtask();
    const next = keyGroupRangeForSubtask(MAX_PARALLELISM, 2, 0); // 3 → 2: subtask 0 keeps its groups and gains some of subtask 1's
    const kept = keyIn(keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 0));
    const gained = keyIn(KeyGroupRange.of(keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 0).endKeyGroup + 1, next.endKeyGroup));
    task.prepareRescale({ checkpointId: 5, retire: false, parallelism: 2, previousKeyGroupRange: keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 0), keyGroupRange: next });
    assert.match(task.name, /\(1\/3\)$/);
    for (const channel of channels) channel.push({ kind: 'barrier', checkpointId: 5 });
    channels[0]!.push(records(kept, gained));
    channels[1]!.push(records(kept));
    for (const channel of channels) channel.push({ kind: 'watermark', watermark: 100 });
    task.processInput();
    assert.deepEqual(acknowledged, [5]);
    assert.match(task.name, /\(1\/2\)$/, 'its name says the parallelism it runs at');
    assert.deepEqual(head.events, [`record ${kept}`, `record ${kept}`], 'the kept key group goes on; the gained one and the watermark wait');
    assert.equal(task.awaitingState, true);
    assert.ok(task.gainedKeyGroups().has(assignToKeyGroup(gained, MAX_PARALLELISM)));

    const result = await task.completeRescale(async () => {
      head.events.push('state in');
    });
    assert.equal(result.stashedRecords, 1);
    assert.equal(task.hasInput, true, 'the held-back records go on in the next step, like any input');
    task.processInput();
    assert.deepEqual(head.events, [`record ${kept}`, `record ${kept}`, 'state in', `record ${gained}`, 'watermark 100']);
    assert.equal(task.awaitingState, false);
    channels[0]!.push(records(gained));
    task.processInput();
    assert.equal(head.events.at(-1), `record ${gained}`, 'after the takeover the gained key group flows');
  });

  it('works through many held-back records in steps, as it does any input, the watermark after them', async () => {
    const { task, head, channels } = keyedSubtask();
    const next = keyGroupRangeForSubtask(MAX_PARALLELISM, 2, 0);
    const gained = keyIn(KeyGroupRange.of(keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 0).endKeyGroup + 1, next.endKeyGroup));
    task.prepareRescale({ checkpointId: 5, retire: false, parallelism: 2, previousKeyGroupRange: keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 0), keyGroupRange: next });
    for (const channel of channels) channel.push({ kind: 'barrier', checkpointId: 5 });
    channels[0]!.push(records(...Array.from({ length: 150 }, () => gained)));
    for (const channel of channels) channel.push({ kind: 'watermark', watermark: 100 });
    task.processInput();
    assert.equal(head.events.length, 0, 'all held back');
    await task.completeRescale(async () => {});
    const passed = () => performance.now() - 1;
    task.processInput(Number.POSITIVE_INFINITY, passed());
    assert.equal(head.events.length, 64, 'one step: 64 records, then the clock says stop');
    task.processInput(Number.POSITIVE_INFINITY, passed());
    task.processInput(Number.POSITIVE_INFINITY, passed());
    assert.deepEqual(head.events.slice(-2), [`record ${gained}`, 'watermark 100'], 'the watermark once every held-back record is through');
    assert.equal(head.events.filter((e) => e.startsWith('record')).length, 150);
  });

  it('holds the next barrier while gained state is on its way', async () => {
    const { task, channels, acknowledged } = keyedSubtask();
    task.prepareRescale({ checkpointId: 5, retire: false, parallelism: 2, previousKeyGroupRange: keyGroupRangeForSubtask(MAX_PARALLELISM, 3, 0), keyGroupRange: keyGroupRangeForSubtask(MAX_PARALLELISM, 2, 0) });
    for (const channel of channels) channel.push({ kind: 'barrier', checkpointId: 5 });
    for (const channel of channels) channel.push({ kind: 'barrier', checkpointId: 6 });
    task.processInput();
    assert.deepEqual(acknowledged, [5], 'checkpoint 6 would miss the gained key groups');
    await task.completeRescale(async () => {});
    task.processInput();
    assert.deepEqual(acknowledged, [5, 6]);
  });

  it('a retiring subtask ends its outputs at the barrier and processes nothing more', async () => {
    const { task, head, channels, acknowledged } = keyedSubtask();
    const out = new CollectingTarget();
    task.exchangeOutputs.push(new ExchangeOutput([out], { partitioning: 'forward', maxParallelism: MAX_PARALLELISM, producerIndex: 0, batchSize: 100 }));
    task.prepareRescale({ checkpointId: 5, retire: true, parallelism: 2 });
    for (const channel of channels) channel.push({ kind: 'barrier', checkpointId: 5 });
    channels[0]!.push({ kind: 'watermark', watermark: 10 });
    task.processInput();
    assert.deepEqual(acknowledged, [5]);
    assert.equal(task.status, 'retired');
    assert.deepEqual(out.summary(), ['barrier 5', 'end']);
    assert.deepEqual(head.events, [], 'no final watermark, no end of input: the job goes on elsewhere');
  });
});
