import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobPlan } from '../../shared/plan/job-plan.ts';
import { placeBesides, placeJob, slotsOf, slotsTakenOn, type PlacementEntry } from './slot-placement.ts';

/** A plan with tasks of these parallelisms (only what placement reads). */
function planOf(...parallelisms: number[]): JobPlan {
  return { tasks: parallelisms.map((parallelism, id) => ({ id, parallelism })) } as unknown as JobPlan;
}

const free = (entries: Record<string, number>) => new Map(Object.entries(entries));
const slotWorkers = (placement: readonly PlacementEntry[], taskId = 0) => placement.filter((p) => p.taskId === taskId).map((p) => p.workerId);

describe('slot placement', () => {
  it('a job needs as many slots as its widest task, and slot i runs subtask i of every task', () => {
    const plan = planOf(2, 4, 1);
    assert.equal(slotsOf(plan), 4);
    const placement = placeJob(plan, free({ a: 4 }))!;
    assert.equal(placement.length, 7);
    assert.equal(slotsTakenOn(placement, 'a'), 4);
  });

  it('spreads slots over the workers, the one with the most free first, ties by id', () => {
    assert.deepEqual(slotWorkers(placeJob(planOf(4), free({ b: 2, a: 2 }))!), ['a', 'b', 'a', 'b']);
    assert.deepEqual(slotWorkers(placeJob(planOf(3), free({ a: 1, b: 3 }))!), ['b', 'b', 'a']);
  });

  it('every subtask of a slot lands on the same worker', () => {
    const placement = placeJob(planOf(3, 3), free({ a: 2, b: 2 }))!;
    assert.deepEqual(slotWorkers(placement, 0), slotWorkers(placement, 1));
  });

  it('is undefined when the workers have too few free slots, and leaves the counts it was given alone', () => {
    const counts = free({ a: 1, b: 1 });
    assert.equal(placeJob(planOf(3), counts), undefined);
    assert.deepEqual([...counts], [['a', 1], ['b', 1]]);
    assert.equal(placeJob(planOf(1), free({})), undefined);
  });

  it('next to a running placement, running slots stay where they are and added ones go where slots are free', () => {
    const running = placeJob(planOf(2), free({ a: 2 }))!;
    assert.deepEqual(slotWorkers(running), ['a', 'a']);
    const grown = placeBesides(running, planOf(4), free({ a: 0, b: 1, c: 2 }))!;
    assert.deepEqual(slotWorkers(grown), ['a', 'a', 'c', 'b']);
    assert.equal(placeBesides(running, planOf(5), free({ b: 1, c: 1 })), undefined);
  });

  it('a smaller parallelism keeps the first slots where they run and needs nothing free', () => {
    const running = placeJob(planOf(4), free({ a: 2, b: 2 }))!;
    assert.deepEqual(slotWorkers(placeBesides(running, planOf(2), free({}))!), ['a', 'b']);
  });
});
