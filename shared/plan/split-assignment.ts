// How a source's splits are dealt to its subtasks on a fresh start: the coordinator assigns them
// for a cluster job, the embedded executor for its own.

/** The splits subtask `subtask` of `parallelism` reads: every parallelism-th, starting at its index. */
export function roundRobin<T>(splits: readonly T[], parallelism: number, subtask: number): T[] {
  return splits.filter((_, i) => i % parallelism === subtask);
}
