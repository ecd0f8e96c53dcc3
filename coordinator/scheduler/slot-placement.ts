// Where a job's subtasks run. Slot i of a job runs subtask i of every task (Flink's slot sharing),
// so a job needs as many slots as its widest task; slots spread over the workers, the one with
// the most free slots first (ties by id). Pure functions: the job controller passes the free slots
// each worker has for this job.

import type { JobPlan } from '../../shared/plan/job-plan.ts';

export interface PlacementEntry {
  readonly taskId: number;
  readonly subtask: number;
  readonly workerId: string;
}

/** The slots a plan needs: as many as its widest task. */
export function slotsOf(plan: JobPlan): number {
  return Math.max(...plan.tasks.map((t) => t.parallelism));
}

/** A fresh placement of every subtask of `plan`; undefined when the workers have too few free slots. */
export function placeJob(plan: JobPlan, freeSlots: ReadonlyMap<string, number>): PlacementEntry[] | undefined {
  const slotWorkers = fillSlots([], slotsOf(plan), new Map(freeSlots));
  return slotWorkers && placementOf(plan, slotWorkers);
}

/**
 * The placement of `plan` next to a running one (a live rescale): running slots stay where they
 * are, added ones go where slots are free. `freeSlots` counts what is free besides the running
 * placement. Undefined when the cluster has too few.
 */
export function placeBesides(current: readonly PlacementEntry[], plan: JobPlan, freeSlots: ReadonlyMap<string, number>): PlacementEntry[] | undefined {
  const slots = slotsOf(plan);
  const slotWorkers: string[] = [];
  for (const p of current) slotWorkers[p.subtask] ??= p.workerId;
  const filled = fillSlots(slotWorkers.slice(0, slots), slots, new Map(freeSlots));
  return filled && placementOf(plan, filled);
}

/** How many slots of `workerId` a placement takes. */
export function slotsTakenOn(placement: readonly PlacementEntry[], workerId: string): number {
  return new Set(placement.filter((p) => p.workerId === workerId).map((p) => p.subtask)).size;
}

function placementOf(plan: JobPlan, slotWorkers: readonly string[]): PlacementEntry[] {
  const placement: PlacementEntry[] = [];
  for (const task of plan.tasks) for (let i = 0; i < task.parallelism; i++) placement.push({ taskId: task.id, subtask: i, workerId: slotWorkers[i]! });
  return placement;
}

/** Gives each slot from `slotWorkers.length` up to `slots` the worker with the most free slots, counting down `free`. */
function fillSlots(slotWorkers: readonly string[], slots: number, free: Map<string, number>): string[] | undefined {
  const filled = [...slotWorkers];
  for (let slot = filled.length; slot < slots; slot++) {
    const candidates = [...free].filter(([, count]) => count > 0).sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b));
    if (candidates.length === 0) return undefined;
    const [chosen, count] = candidates[0]!;
    free.set(chosen, count - 1);
    filled.push(chosen);
  }
  return filled;
}
