import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JobScalingSampler, type JobScalingView } from './job-sampler.ts';

type Subtask = JobScalingView['subtasks'][number];

function view(parallelism: number, subtasks: Subtask[], attempt = 0): JobScalingView {
  return {
    attempt,
    parallelism,
    tasks: [
      { id: 1, name: 'Source: bids', parallelism, isSource: true },
      { id: 2, name: 'Window -> Sink: out', parallelism, isSource: false },
    ],
    subtasks,
  };
}

/** Both tasks' subtasks at the given cumulative counts; the source's subtasks read two partitions each. */
function subtasks(parallelism: number, counts: { sourceIn: number; sourceBusy: number; windowIn: number; windowBusy: number; pending?: number }): Subtask[] {
  return Array.from({ length: parallelism }, (_, i) => [
    { taskId: 1, subtask: i, recordsIn: counts.sourceIn, busyTimeMs: counts.sourceBusy, pendingRecords: counts.pending, unfinishedSplits: [`bids-${2 * i}`, `bids-${2 * i + 1}`] },
    { taskId: 2, subtask: i, recordsIn: counts.windowIn, busyTimeMs: counts.windowBusy, unfinishedSplits: [] },
  ]).flat();
}

describe('JobScalingSampler', () => {
  it('turns two looks at cumulative counters into rates per second, busy milliseconds per second per subtask, backlog and splits', () => {
    const sampler = new JobScalingSampler();
    assert.equal(sampler.sample(view(2, subtasks(2, { sourceIn: 1_000, sourceBusy: 100, windowIn: 900, windowBusy: 400 })), 10_000), undefined, 'the first look is the baseline');
    const sample = sampler.sample(view(2, subtasks(2, { sourceIn: 3_000, sourceBusy: 600, windowIn: 2_900, windowBusy: 2_000, pending: 250 })), 12_000)!;
    assert.equal(sample.atMs, 12_000);
    assert.equal(sample.parallelism, 2);
    const [source, window] = sample.vertices;
    // Each of 2 subtasks read 2,000 more in 2 s: 2,000 records/s; busy 500 ms in 2 s each: 250 ms/s.
    assert.deepEqual(source, { name: 'Source: bids', isSource: true, parallelism: 2, recordsInPerSecond: 2_000, busyTimeMsPerSecond: 250, splits: 4, backlogRecords: 500 });
    assert.deepEqual(window, { name: 'Window -> Sink: out', isSource: false, parallelism: 2, recordsInPerSecond: 2_000, busyTimeMsPerSecond: 800 });
    // The busy share of all four subtasks: (0.25 * 2 + 0.8 * 2) / 4.
    assert.equal(sample.cpuUtilization, 0.525);
  });

  it('leaves the backlog out while a source subtask cannot tell it', () => {
    const sampler = new JobScalingSampler();
    const counts = { sourceIn: 0, sourceBusy: 0, windowIn: 0, windowBusy: 0 };
    sampler.sample(view(1, subtasks(1, counts)), 0);
    const sample = sampler.sample(view(1, subtasks(1, { ...counts, sourceIn: 10 })), 1_000)!;
    assert.equal(sample.vertices[0]!.backlogRecords, undefined);
    assert.ok(!('backlogRecords' in sample.vertices[0]!));
  });

  it('starts a new baseline when the attempt or the parallelism changed, a counter went back, or a subtask is missing', () => {
    const sampler = new JobScalingSampler();
    const counts = { sourceIn: 5_000, sourceBusy: 500, windowIn: 5_000, windowBusy: 500 };
    sampler.sample(view(2, subtasks(2, counts)), 0);
    assert.equal(sampler.sample(view(3, subtasks(3, counts)), 1_000), undefined, 'rescaled: the new subtasks count from 0');
    assert.ok(sampler.sample(view(3, subtasks(3, { ...counts, sourceIn: 6_000 })), 2_000), 'the look after is compared with it');
    assert.equal(sampler.sample(view(3, subtasks(3, counts), 1), 3_000), undefined, 'a new attempt');
    assert.equal(sampler.sample(view(3, subtasks(3, { ...counts, sourceIn: 10 }), 1), 4_000), undefined, 'a counter went back: a subtask started again');
    assert.ok(sampler.sample(view(3, subtasks(3, { ...counts, sourceIn: 20 }), 1), 5_000));
    assert.equal(sampler.sample(view(3, subtasks(3, { ...counts, sourceIn: 30 }).slice(1), 1), 6_000), undefined, 'a subtask not reported');
  });
});
