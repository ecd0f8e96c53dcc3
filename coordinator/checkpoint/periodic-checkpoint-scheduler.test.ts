import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { PeriodicCheckpointScheduler } from './periodic-checkpoint-scheduler.ts';

describe('PeriodicCheckpointScheduler', () => {
  it('nothing is due before an attempt runs', () => {
    const clock = new ManualClock(0);
    const scheduler = new PeriodicCheckpointScheduler(clock, 1_000);
    clock.advance(1_000_000);
    assert.equal(scheduler.isDue, false);
  });

  it('the first checkpoint is due one interval after the start, the next one interval after each trigger', () => {
    const clock = new ManualClock(0);
    const scheduler = new PeriodicCheckpointScheduler(clock, 1_000);
    scheduler.start();
    clock.advance(999);
    assert.equal(scheduler.isDue, false);
    clock.advance(1);
    assert.equal(scheduler.isDue, true);
    clock.advance(500); // triggered late (the coordinator was busy): the interval counts from the trigger
    scheduler.triggered();
    clock.advance(999);
    assert.equal(scheduler.isDue, false);
    clock.advance(1);
    assert.equal(scheduler.isDue, true);
  });

  it('stopping it (the attempt ended) leaves nothing due', () => {
    const clock = new ManualClock(0);
    const scheduler = new PeriodicCheckpointScheduler(clock, 1_000);
    scheduler.start();
    scheduler.stop();
    clock.advance(10_000);
    assert.equal(scheduler.isDue, false);
  });
});
