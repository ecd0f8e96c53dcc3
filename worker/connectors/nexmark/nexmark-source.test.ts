// The Nexmark source: its splits together give the generator's stream, a reader restored from
// snapshotted positions continues with exactly the next events, bounded streams end, and the
// rate limit holds on a manual clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SourceOutput, SplitState } from '../../../shared/api/connectors.ts';
import { ManualClock } from '../../../shared/clock.ts';
import { NexmarkGenerator } from '../../../shared/nexmark/generator.ts';
import type { NexmarkEvent } from '../../../shared/nexmark/model.ts';
import { NexmarkSource } from './nexmark-source.ts';

function collector() {
  const events: Array<{ split: number; event: NexmarkEvent; timestamp: number | undefined }> = [];
  const finished: number[] = [];
  const output: SourceOutput<NexmarkEvent> = {
    collect: (event, split, timestamp) => events.push({ split, event, timestamp }),
    deadLetter: () => assert.fail('the generator never produces dead letters'),
    finishSplit: (split) => finished.push(split),
  };
  return { events, finished, output };
}

const context = (clock = new ManualClock(0), parallelism = 1) => ({ subtaskIndex: 0, parallelism, now: () => clock.now() });

describe('NexmarkSource', () => {
  it('its splits together are the single generator stream, and a bounded source ends', () => {
    const source = new NexmarkSource({ maxEvents: 500, seed: 3 });
    const splits = source.discoverSplits({ parallelism: 3 });
    assert.equal(splits.length, 3);
    const reader = source.createReader(context());
    reader.addSplits(splits);
    const { events, finished, output } = collector();
    let status;
    for (let polls = 0; polls < 100 && status !== 'end'; polls++) status = reader.poll(output, 64);
    assert.equal(status, 'end');
    assert.deepEqual(finished.sort(), [0, 1, 2]);
    const expected = new NexmarkGenerator({ maxEvents: 500, seed: 3 });
    const all = events.map((e) => e.event).sort((a, b) => a.dateTime - b.dateTime || JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const reference: NexmarkEvent[] = [];
    while (expected.hasNext()) reference.push(expected.next());
    reference.sort((a, b) => a.dateTime - b.dateTime || JSON.stringify(a).localeCompare(JSON.stringify(b)));
    assert.deepEqual(all, reference);
    assert.ok(events.every((e) => e.timestamp === e.event.dateTime));
  });

  it('a reader restored from snapshotted positions continues with exactly the next events', () => {
    const source = new NexmarkSource({ maxEvents: 1_000 });
    const splits = source.discoverSplits({ parallelism: 2 });
    const uninterrupted = collector();
    const whole = source.createReader(context());
    whole.addSplits(splits);
    while (whole.poll(uninterrupted.output, 100) !== 'end');

    const first = collector();
    const before = source.createReader(context());
    before.addSplits(splits);
    before.poll(first.output, 100);
    before.poll(first.output, 77);
    const positions: SplitState[] = JSON.parse(JSON.stringify(before.snapshotSplits()));
    const after = source.createReader(context());
    after.addSplits(positions);
    const rest = collector();
    while (after.poll(rest.output, 100) !== 'end');
    assert.equal(first.events.length, 177);
    // Each split's sequence continues exactly (how polls interleave splits is not part of it).
    const bySplit = (events: typeof first.events) => [0, 1].map((split) => events.filter((e) => e.split === split).map((e) => e.event));
    assert.deepEqual(bySplit([...first.events, ...rest.events]), bySplit(uninterrupted.events));
  });

  it('keeps to its rate limit in processing time', () => {
    const clock = new ManualClock(0);
    const source = new NexmarkSource({ ratePerSecond: 1_000 });
    const reader = source.createReader(context(clock));
    reader.addSplits(source.discoverSplits({ parallelism: 1 }));
    const { events, output } = collector();
    assert.equal(reader.poll(output, 10_000), 'wait');
    clock.advance(250);
    reader.poll(output, 10_000);
    assert.equal(events.length, 250);
    assert.equal(reader.poll(output, 10_000), 'wait');
    clock.advance(750);
    reader.poll(output, 100);
    reader.poll(output, 10_000);
    assert.equal(events.length, 1_000);
    // Held up for 10 s, it catches up one second's worth, not ten, and then keeps to its rate.
    clock.advance(10_000);
    reader.poll(output, 100_000);
    assert.equal(events.length, 2_000);
    assert.equal(reader.poll(output, 100_000), 'wait');
    clock.advance(500);
    reader.poll(output, 100_000);
    assert.equal(events.length, 2_500);
  });

  it('refuses a rate that is not a positive number, naming it', () => {
    assert.throws(() => new NexmarkSource({ ratePerSecond: 0 }), /ratePerSecond: must be a positive number/);
    assert.throws(() => new NexmarkSource({ firstEventRatePerSecond: -1 }), /firstEventRatePerSecond/);
  });
});
