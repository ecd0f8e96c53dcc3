// Turns what a job's workers report in their heartbeats (cumulative records, busy time, the
// sources' pending records and splits) into the autoscaler's samples: rates over the time between
// two looks at the job. Counters are cumulative per subtask and start again at 0 in a new attempt
// or in a subtask a live rescale added, so a look at a job whose attempt or parallelism changed
// starts a new baseline instead of yielding a rate.

import type { ScalingSample, VertexSample } from './scaling-policies.ts';

/** What the sampler needs of a job's status (the coordinator's JobStatusView has it). */
export interface JobScalingView {
  readonly attempt: number;
  readonly parallelism: number;
  readonly tasks: ReadonlyArray<{ readonly id: number; readonly name: string; readonly parallelism: number; readonly isSource: boolean }>;
  readonly subtasks: ReadonlyArray<{
    readonly taskId: number;
    readonly subtask: number;
    readonly recordsIn: number;
    readonly busyTimeMs: number;
    readonly pendingRecords?: number | undefined;
    readonly unfinishedSplits?: readonly string[];
  }>;
}

interface Look {
  readonly atMs: number;
  readonly attempt: number;
  readonly parallelism: number;
  /** taskId → cumulative records in and busy milliseconds, all subtasks together. */
  readonly totals: ReadonlyMap<number, { readonly recordsIn: number; readonly busyTimeMs: number }>;
}

export class JobScalingSampler {
  private previous: Look | undefined;

  /** A sample of the time since the previous look; undefined at the first look and after the job changed shape. */
  sample(view: JobScalingView, atMs: number): ScalingSample | undefined {
    const look = lookAt(view, atMs);
    const before = this.previous;
    this.previous = look;
    if (before === undefined || before.attempt !== look.attempt || before.parallelism !== look.parallelism || look.atMs <= before.atMs) return undefined;
    const seconds = (look.atMs - before.atMs) / 1000;
    const vertices: VertexSample[] = [];
    for (const task of view.tasks) {
      const now = look.totals.get(task.id);
      const then = before.totals.get(task.id);
      // A subtask not reported yet, or one that started again: no rate from this pair of looks.
      if (now === undefined || then === undefined || now.recordsIn < then.recordsIn || now.busyTimeMs < then.busyTimeMs) return undefined;
      const subtasks = view.subtasks.filter((s) => s.taskId === task.id);
      const busyPerSecond = (now.busyTimeMs - then.busyTimeMs) / seconds / task.parallelism;
      vertices.push({
        name: task.name,
        isSource: task.isSource,
        parallelism: task.parallelism,
        recordsInPerSecond: (now.recordsIn - then.recordsIn) / seconds,
        busyTimeMsPerSecond: Math.min(1000, Math.max(0, busyPerSecond)),
        ...(task.isSource ? sourceBacklog(subtasks) : {}),
      });
    }
    const slots = vertices.reduce((sum, v) => sum + v.parallelism, 0);
    // Until a worker reports its own CPU, the busy share of the job's subtasks stands for it: each
    // subtask runs on its worker's one event loop.
    const cpuUtilization = slots === 0 ? 0 : vertices.reduce((sum, v) => sum + (v.busyTimeMsPerSecond / 1000) * v.parallelism, 0) / slots;
    return { atMs, parallelism: view.parallelism, cpuUtilization, vertices };
  }
}

function lookAt(view: JobScalingView, atMs: number): Look {
  const totals = new Map<number, { recordsIn: number; busyTimeMs: number }>();
  const reported = new Map<number, number>();
  for (const s of view.subtasks) {
    const total = totals.get(s.taskId) ?? { recordsIn: 0, busyTimeMs: 0 };
    total.recordsIn += s.recordsIn;
    total.busyTimeMs += s.busyTimeMs;
    totals.set(s.taskId, total);
    reported.set(s.taskId, (reported.get(s.taskId) ?? 0) + 1);
  }
  // A task whose subtasks are not all reported has no total to compare yet.
  for (const task of view.tasks) if (reported.get(task.id) !== task.parallelism) totals.delete(task.id);
  return { atMs, attempt: view.attempt, parallelism: view.parallelism, totals };
}

/** The backlog (when every subtask can tell) and the splits of a source task. */
function sourceBacklog(subtasks: JobScalingView['subtasks']): Pick<VertexSample, 'backlogRecords' | 'splits'> {
  const splits = subtasks.reduce((sum, s) => sum + (s.unfinishedSplits?.length ?? 0), 0);
  const known = subtasks.every((s) => s.pendingRecords !== undefined);
  return { ...(splits > 0 ? { splits } : {}), ...(known ? { backlogRecords: subtasks.reduce((sum, s) => sum + s.pendingRecords!, 0) } : {}) };
}
