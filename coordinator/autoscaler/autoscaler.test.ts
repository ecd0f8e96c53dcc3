// The autoscaling policies and the rules around them, on a manual clock: Managed Flink's rule
// fires at exactly 15 minutes (6 hours down) and not a second before; the responsive policy's
// targets for given rates and backlogs, its stabilization and quiet periods; bounds, cooldown
// and no decisions while checkpoints fail or an operation runs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { Autoscaler, type JobCondition } from './autoscaler.ts';
import { ManagedFlinkPolicy, ResponsivePolicy, type ScalingSample, type VertexSample } from './scaling-policies.ts';

const HEALTHY: JobCondition = { checkpointFailureStreak: 0, operationInProgress: false, running: true };
const MINUTE = 60_000;

function cpuSample(clock: ManualClock, cpuUtilization: number, parallelism = 2): ScalingSample {
  return { atMs: clock.now(), parallelism, cpuUtilization, vertices: [] };
}

/** A source reading `inputRate` with `backlog` waiting, into one operator as busy as given. */
function pipelineSample(atMs: number, parallelism: number, inputRate: number, backlog: number, busyMsPerSecond: number, splits = 64): ScalingSample {
  const vertices: VertexSample[] = [
    { name: 'Source: orders', isSource: true, parallelism, recordsInPerSecond: inputRate, busyTimeMsPerSecond: 50, backlogRecords: backlog, splits },
    { name: 'Window(orders per customer)', isSource: false, parallelism, recordsInPerSecond: inputRate, busyTimeMsPerSecond: busyMsPerSecond },
  ];
  return { atMs, parallelism, cpuUtilization: busyMsPerSecond / 1000, vertices };
}

describe("Managed Flink's rule", () => {
  it('doubles after exactly 15 minutes at or above 75 % CPU, not a second before; a dip starts the count again', () => {
    const clock = new ManualClock(1_000_000);
    const policy = new ManagedFlinkPolicy();
    const start = clock.now();
    for (let t = 0; t < 15 * MINUTE; t += 1_000) {
      assert.equal(policy.observe(cpuSample(clock, 0.8)), undefined, `proposed after ${t / 1000} s`);
      clock.advance(1_000);
    }
    assert.equal(clock.now() - start, 15 * MINUTE);
    const proposal = policy.observe(cpuSample(clock, 0.75));
    assert.equal(proposal?.parallelism, 4);
    assert.match(proposal!.reason, /CPU at or above 75 % for 15\.0 min \(rule: 15 minutes\)/);

    policy.reset();
    for (let t = 0; t < 10 * MINUTE; t += MINUTE) {
      policy.observe(cpuSample(clock, 0.9));
      clock.advance(MINUTE);
    }
    assert.equal(policy.observe(cpuSample(clock, 0.74)), undefined, 'the dip');
    clock.advance(MINUTE);
    for (let t = 0; t < 14 * MINUTE; t += MINUTE) {
      assert.equal(policy.observe(cpuSample(clock, 0.9)), undefined, 'the count started again at the dip');
      clock.advance(MINUTE);
    }
  });

  it('halves after exactly 6 hours below 10 % CPU, and never below 1', () => {
    const clock = new ManualClock(0);
    const policy = new ManagedFlinkPolicy();
    policy.observe(cpuSample(clock, 0.05, 8));
    clock.advance(6 * 60 * MINUTE - 1_000);
    assert.equal(policy.observe(cpuSample(clock, 0.05, 8)), undefined, 'a second before 6 hours');
    clock.advance(1_000);
    assert.equal(policy.observe(cpuSample(clock, 0.09, 8))?.parallelism, 4);

    const single = new ManagedFlinkPolicy();
    single.observe(cpuSample(clock, 0.01, 1));
    clock.advance(7 * 60 * MINUTE);
    assert.equal(single.observe(cpuSample(clock, 0.01, 1)), undefined);
  });
});

describe('the responsive policy', () => {
  it('targets the parallelism that handles the input and works off the backlog within the catch-up time', () => {
    const policy = new ResponsivePolicy({ catchUpMs: 60_000, targetUtilization: 0.7 });
    // 10,000/s into 2 subtasks busy half the time: 10,000 records per busy second each.
    assert.equal(policy.target(pipelineSample(0, 2, 10_000, 0, 500))?.parallelism, 2);
    // 600,000 behind, to work off in 60 s: 20,000/s in all → ceil(20,000 / 7,000) = 3.
    const withBacklog = policy.target(pipelineSample(0, 2, 10_000, 600_000, 500));
    assert.equal(withBacklog?.parallelism, 3);
    assert.match(withBacklog!.reason, /"Window\(orders per customer\)" processes 10000 records per busy second per subtask; input 10000\/s plus a backlog of 600000 records to work off in 60 s needs 3 subtasks at 70 % busy/);
    // Saturated at parallelism 1 (busy all the time, 4,000/s) with a growing backlog.
    assert.equal(policy.target(pipelineSample(0, 1, 4_000, 1_200_000, 1000))?.parallelism, 9);
    // A source bottleneck never gets more subtasks than it has splits.
    const sourceBound: ScalingSample = {
      atMs: 0,
      parallelism: 1,
      cpuUtilization: 1,
      vertices: [{ name: 'Source: kafka', isSource: true, parallelism: 1, recordsInPerSecond: 1_000, busyTimeMsPerSecond: 1000, backlogRecords: 6_000_000, splits: 8 }],
    };
    assert.equal(policy.target(sourceBound)?.parallelism, 8);
  });

  it('scales up once a higher target held for the stabilization period, and down only after the quiet period', () => {
    const policy = new ResponsivePolicy({ scaleUpStabilizationMs: 10_000, scaleDownQuietMs: 10 * MINUTE });
    assert.equal(policy.observe(pipelineSample(0, 1, 4_000, 1_200_000, 1000)), undefined, 'not at the first sample');
    assert.equal(policy.observe(pipelineSample(9_999, 1, 4_000, 1_200_000, 1000)), undefined, 'not before 10 s');
    assert.equal(policy.observe(pipelineSample(10_000, 1, 4_000, 1_200_000, 1000))?.parallelism, 9);

    policy.reset();
    // At 8, the input fell to 2,000/s with nothing behind: 2 would do.
    const quiet = (atMs: number) => pipelineSample(atMs, 8, 2_000, 0, 100);
    assert.equal(policy.observe(quiet(0)), undefined);
    assert.equal(policy.observe(quiet(10 * MINUTE - 1)), undefined, 'not before the quiet period');
    assert.equal(policy.observe(quiet(10 * MINUTE))?.parallelism, 2);
  });

  it('leaves a job alone when the target is within 10 % of its parallelism or nothing is measured', () => {
    const policy = new ResponsivePolicy({ scaleUpStabilizationMs: 0 });
    // 10 subtasks, 980 records per busy second each: 7,350/s at 70 % needs 10.7 → 11, within 10 %.
    assert.equal(policy.target(pipelineSample(0, 10, 7_350, 0, 750))?.parallelism, 11);
    assert.equal(policy.observe(pipelineSample(0, 10, 7_350, 0, 750)), undefined);
    assert.equal(policy.observe({ atMs: 0, parallelism: 2, cpuUtilization: 0, vertices: [] }), undefined);
  });
});

describe('the autoscaler', () => {
  it('bounds a decision by the maximum and the job max parallelism, and keeps it with its reason', () => {
    const autoscaler = new Autoscaler(new ResponsivePolicy({ scaleUpStabilizationMs: 0 }), { minParallelism: 1, maxParallelism: 8, jobMaxParallelism: 4, cooldownMs: 0 });
    const decision = autoscaler.observe(pipelineSample(0, 1, 4_000, 1_200_000, 1000), HEALTHY);
    assert.deepEqual({ from: decision?.from, to: decision?.to, policy: decision?.policy }, { from: 1, to: 4, policy: 'responsive' });
    assert.match(decision!.reason, /needs 9 subtasks .* \(9, bounded to 4\)/);
    assert.equal(autoscaler.decisions.length, 1);
  });

  it('holds a proposal back during the cooldown and while checkpoints fail, and decides nothing during an operation', () => {
    const autoscaler = new Autoscaler(new ResponsivePolicy({ scaleUpStabilizationMs: 0 }), { minParallelism: 1, maxParallelism: 16, jobMaxParallelism: 128, cooldownMs: 5 * MINUTE });
    assert.equal(autoscaler.observe(pipelineSample(0, 1, 4_000, 1_200_000, 1000), HEALTHY)?.to, 9);
    // Still behind at 9 right after: the cooldown holds it.
    assert.equal(autoscaler.observe(pipelineSample(60_000, 9, 30_000, 3_000_000, 1000), HEALTHY), undefined);
    assert.match(autoscaler.heldBack!.why, /held back: cooldown, 240 s left/);
    assert.equal(autoscaler.observe(pipelineSample(5 * MINUTE, 9, 30_000, 3_000_000, 1000), { ...HEALTHY, checkpointFailureStreak: 2 }), undefined);
    assert.match(autoscaler.heldBack!.why, /held back: 2 checkpoint\(s\) failed in a row/);
    assert.equal(autoscaler.observe(pipelineSample(5 * MINUTE, 9, 30_000, 3_000_000, 1000), { ...HEALTHY, operationInProgress: true }), undefined);
    const decision = autoscaler.observe(pipelineSample(6 * MINUTE, 9, 30_000, 3_000_000, 1000), HEALTHY);
    assert.equal(decision?.to, 16, 'after the cooldown, with checkpoints healthy again: up to the maximum');
    assert.equal(autoscaler.decisions.length, 2);
  });

  it('with the Managed Flink rule, an operation in progress starts the 15 minutes again', () => {
    const clock = new ManualClock(0);
    const autoscaler = new Autoscaler(new ManagedFlinkPolicy(), { minParallelism: 1, maxParallelism: 64, jobMaxParallelism: 128, cooldownMs: 0 });
    for (let t = 0; t < 10 * MINUTE; t += MINUTE) {
      autoscaler.observe(cpuSample(clock, 0.9), HEALTHY);
      clock.advance(MINUTE);
    }
    autoscaler.observe(cpuSample(clock, 0.9), { ...HEALTHY, operationInProgress: true });
    clock.advance(MINUTE);
    for (let t = 0; t < 15 * MINUTE; t += MINUTE) {
      assert.equal(autoscaler.observe(cpuSample(clock, 0.9), HEALTHY), undefined, `at ${t / MINUTE} min after the operation`);
      clock.advance(MINUTE);
    }
    assert.equal(autoscaler.observe(cpuSample(clock, 0.9), HEALTHY)?.to, 4);
  });

  it('refuses bounds that cannot hold', () => {
    const policy = new ManagedFlinkPolicy();
    assert.throws(() => new Autoscaler(policy, { minParallelism: 0, maxParallelism: 4, jobMaxParallelism: 128, cooldownMs: 0 }), /minParallelism must be a positive integer, got 0/);
    assert.throws(() => new Autoscaler(policy, { minParallelism: 4, maxParallelism: 2, jobMaxParallelism: 128, cooldownMs: 0 }), /maxParallelism must be an integer at least minParallelism 4, got 2/);
    assert.throws(() => new Autoscaler(policy, { minParallelism: 256, maxParallelism: 512, jobMaxParallelism: 128, cooldownMs: 0 }), /minParallelism 256 is above the job's max parallelism 128/);
  });
});
