// What the coordinator decides before a live rescale, read off pure functions: whether the job can
// be rescaled live (liveRescaleRefusal) and how the sources' splits are dealt anew (assignSplits).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../api/index.ts';
import { NexmarkSource, type NexmarkEvent } from '../../worker/connectors/index.ts';
import { CollectSink } from '../../worker/connectors/collect-sink.ts';
import { liveRescaleRefusal, planJob, type JobPlan } from './job-plan.ts';
import { assignSplits } from './split-assignment.ts';

function keyedCount(): StreamExecutionEnvironment {
  const env = new StreamExecutionEnvironment();
  env
    .fromSource(new NexmarkSource({ maxEvents: 10, splitCount: 4 }), WatermarkStrategy.forMonotonousTimestamps<NexmarkEvent>(), 'nexmark')
    .keyBy((e) => e.kind)
    .map((e) => e.kind)
    .sinkTo(new CollectSink<string>());
  return env;
}

const at = (env: StreamExecutionEnvironment, parallelism: number): JobPlan => planJob(env.graph, env.settings, { jobName: 'live', parallelism, maxParallelism: 128 });
const sourceTask = (plan: JobPlan) => plan.tasks.find((t) => t.isSource)!.id;

describe('live rescale plan', () => {
  it('a job keeps its shape at every parallelism: it can be rescaled live', () => {
    const env = keyedCount();
    assert.equal(liveRescaleRefusal(at(env, 2), at(env, 4)), undefined);
    assert.equal(liveRescaleRefusal(at(env, 3), at(env, 1)), undefined);
  });

  it('an operator with its own parallelism chains differently at another job parallelism: refused, saying why', () => {
    const env = new StreamExecutionEnvironment();
    env.fromCollection([1]).map((x) => x).setParallelism(1).sinkTo(new CollectSink<number>());
    assert.match(liveRescaleRefusal(at(env, 1), at(env, 2)) ?? '', /chains its operators differently/);
  });

  it('2 → 4: every subtask gets one of four splits and each running subtask keeps one of its own', () => {
    const env = keyedCount();
    const [before, after] = [at(env, 2), at(env, 4)];
    const s = sourceTask(after);
    const assignment = assignSplits(before, after, new Map([[`${s}/0`, ['p0', 'p2']], [`${s}/1`, ['p1', 'p3']]]));
    assert.deepEqual(Object.fromEntries(assignment), { [`${s}/0`]: ['p0'], [`${s}/1`]: ['p1'], [`${s}/2`]: ['p2'], [`${s}/3`]: ['p3'] });
  });

  it('3 → 1: the retiring subtasks hand every split to the one left', () => {
    const env = keyedCount();
    const [before, after] = [at(env, 3), at(env, 1)];
    const s = sourceTask(after);
    const assignment = assignSplits(before, after, new Map([[`${s}/0`, ['a']], [`${s}/1`, ['b', 'c']], [`${s}/2`, ['d']]]));
    assert.deepEqual(Object.fromEntries(assignment), { [`${s}/0`]: ['a', 'b', 'c', 'd'] });
  });

  it('3 → 2 with subtask 0 finished: the retiring subtask\'s split goes to a subtask that still reads', () => {
    const env = keyedCount();
    const [before, after] = [at(env, 3), at(env, 2)];
    const s = sourceTask(after);
    const assignment = assignSplits(before, after, new Map([[`${s}/0`, ['a']], [`${s}/1`, ['b', 'c']], [`${s}/2`, ['d']]]), new Set([`${s}/0`]));
    assert.deepEqual(Object.fromEntries(assignment), { [`${s}/0`]: ['a'], [`${s}/1`]: ['b', 'c', 'd'] });
  });

  it('2 → 3 with five splits: shares of 2, 2, 1, no split twice, none lost', () => {
    const env = keyedCount();
    const [before, after] = [at(env, 2), at(env, 3)];
    const s = sourceTask(after);
    const assignment = assignSplits(before, after, new Map([[`${s}/0`, ['a', 'b', 'c']], [`${s}/1`, ['d', 'e']]]));
    assert.deepEqual([0, 1, 2].map((i) => assignment.get(`${s}/${i}`)!.length), [2, 2, 1]);
    assert.deepEqual(assignment.get(`${s}/1`), ['d', 'e'], 'subtask 1 keeps both of its own');
    assert.deepEqual([...assignment.values()].flat().sort(), ['a', 'b', 'c', 'd', 'e']);
  });
});
