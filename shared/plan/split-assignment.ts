// How a source's splits are dealt to its subtasks, in one place: on a fresh start (the
// coordinator deals them for a cluster job, the subtask builder for an embedded one), on a restore
// at another parallelism, and anew in a live rescale.

import type { Source, SplitState } from '../api/connectors.ts';
import type { JobPlan } from './job-plan.ts';

/** The splits subtask `subtask` of `parallelism` reads: every parallelism-th, starting at its index. */
export function roundRobin<T>(splits: readonly T[], parallelism: number, subtask: number): T[] {
  return splits.filter((_, i) => i % parallelism === subtask);
}

/** A fresh start: the source discovers its splits once, and subtask i reads roundRobin(…, i). */
export async function discoverAndDeal(source: Pick<Source<unknown>, 'discoverSplits'>, parallelism: number): Promise<SplitState[][]> {
  const discovered = await source.discoverSplits({ parallelism });
  return [...Array(parallelism).keys()].map((i) => roundRobin(discovered, parallelism, i));
}

/** Restored splits: each old subtask's to the same new subtask when parallelism is unchanged, else round-robin. */
export function redistributeRestored(old: ReadonlyArray<readonly SplitState[]>, parallelism: number, subtask: number): SplitState[] {
  if (old.length === parallelism) return [...old[subtask]!];
  return roundRobin(old.flat(), parallelism, subtask);
}

/**
 * Deals the splits of each rescaled source anew for a live rescale: every subtask ends with its
 * fair share, and a running subtask keeps as many of its own splits as its share allows, so few
 * splits move. `current`: "taskId/subtask" → split ids, as the sources reported them.
 */
export function assignSplits(
  previous: JobPlan,
  next: JobPlan,
  current: ReadonlyMap<string, readonly string[]>,
  /** "taskId/subtask" of subtasks that have finished: they are never polled again, so they get no split to read. */
  finished: ReadonlySet<string> = new Set(),
): Map<string, string[]> {
  const assignment = new Map<string, string[]>();
  for (const task of next.tasks) {
    if (!task.isSource) continue;
    const before = previous.tasks.find((t) => t.id === task.id)!.parallelism;
    if (before === task.parallelism) continue;
    const owned = [...Array(before).keys()].map((i) => [...(current.get(`${task.id}/${i}`) ?? [])].sort());
    const total = owned.reduce((sum, ids) => sum + ids.length, 0);
    const share = (i: number) => Math.floor(total / task.parallelism) + (i < total % task.parallelism ? 1 : 0);
    const pool: string[] = [];
    const mine: string[][] = [];
    for (let i = 0; i < task.parallelism; i++) {
      const own = owned[i] ?? [];
      mine.push(own.slice(0, share(i)));
      pool.push(...own.slice(share(i)));
    }
    for (let i = task.parallelism; i < before; i++) pool.push(...owned[i]!);
    const reading = [...Array(task.parallelism).keys()].filter((i) => !finished.has(`${task.id}/${i}`));
    for (const i of reading) while (mine[i]!.length < share(i) && pool.length > 0) mine[i]!.push(pool.shift()!);
    // What finished subtasks would have taken goes to the reading subtask with the fewest splits.
    const takers = reading.length > 0 ? reading : [...Array(task.parallelism).keys()];
    while (pool.length > 0) {
      const fewest = takers.reduce((a, b) => (mine[b]!.length < mine[a]!.length ? b : a));
      mine[fewest]!.push(pool.shift()!);
    }
    for (let i = 0; i < task.parallelism; i++) assignment.set(`${task.id}/${i}`, mine[i]!);
  }
  return assignment;
}
