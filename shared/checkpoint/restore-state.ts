// Reading a checkpoint for a restore: every operator's state, checked against the job's plan and
// for covering each key group and split once. The embedded executor and the workers restore from
// it; the dispatcher reads a checkpoint this way to refuse a restore before it submits the job.

import { RestoreError } from '../errors.ts';
import { KeyGroupRange, keyGroupRangeForSubtask, UPPER_BOUND_MAX_PARALLELISM } from '../key-groups.ts';
import type { JobPlan } from '../plan/job-plan.ts';
import type { CheckpointMetadata } from './checkpoint-metadata.ts';
import type { OperatorSnapshot, SourceOperatorState } from './operator-snapshot.ts';
import { readSubtaskState } from './operator-state-files.ts';
import type { RestoreSource } from './restore-path.ts';

export interface RestoredState {
  readonly metadata: CheckpointMetadata;
  /** Operator uid → its snapshots, one per old subtask, in subtask order. */
  readonly byUid: ReadonlyMap<string, OperatorSnapshot[]>;
}

/**
 * Reads every operator's state of a checkpoint and checks it fits the plan and covers each key
 * group and split once (checkStateCoverage). With `isLocal`, only the key groups of the subtasks
 * this process runs are read (a rescaled restore reads what it owns); every state file is read,
 * so every process checks the whole checkpoint.
 */
export async function loadRestoreState(plan: JobPlan, restore: RestoreSource, isLocal?: (taskId: number, subtask: number) => boolean): Promise<RestoredState> {
  const metadata = await restore.storage.readMetadata(restore.checkpointId);
  const where = `${restore.storage.location} checkpoint ${restore.checkpointId}`;
  if (metadata.maxParallelism !== plan.maxParallelism) {
    throw new RestoreError(
      `${where} was taken with max parallelism ${metadata.maxParallelism}, but this job has ${plan.maxParallelism}; ` +
        `key groups cannot be remapped — run with --max-parallelism ${metadata.maxParallelism}`,
    );
  }
  const nodeOfUid = new Map([...plan.uidOf.entries()].map(([node, uid]) => [uid, node]));
  const byUid = new Map<string, OperatorSnapshot[]>();
  for (const op of metadata.operators) {
    const node = nodeOfUid.get(op.uid);
    const maxParallelism = node === undefined ? undefined : plan.maxParallelismOf.get(node);
    if (maxParallelism !== undefined && op.maxParallelism !== undefined && op.maxParallelism !== maxParallelism) {
      throw new RestoreError(
        `${where}: operator uid "${op.uid}" was checkpointed with max parallelism ${op.maxParallelism}, but it now has ${maxParallelism}; ` +
          'key groups cannot be remapped — keep its max parallelism',
      );
    }
    if (node === undefined) {
      if (restore.allowNonRestoredState) continue;
      throw new RestoreError(
        `${where} has state for operator uid "${op.uid}" (${op.name}), which this job does not have; ` +
          'give the operator the same uid, or allow non-restored state to drop it',
      );
    }
    const needsKeyGroup = isLocal ? localKeyGroups(plan, node, isLocal) : undefined;
    const handles = [...op.subtasks].sort((a, b) => a.subtask - b.subtask);
    const reads = await Promise.all(handles.map((handle) => readSubtaskState(restore.storage, restore.checkpointId, handle, needsKeyGroup)));
    const isSource = plan.graph.node(node).kind === 'source';
    checkStateCoverage(
      `${where}: operator uid "${op.uid}"`,
      { parallelism: op.parallelism, maxParallelism: op.maxParallelism ?? metadata.maxParallelism, isSource },
      reads.map(({ snapshot, keyGroups }, i) => ({
        subtask: handles[i]!.subtask,
        keyGroups,
        ...(isSource ? { source: snapshot.operatorState as SourceOperatorState | undefined } : {}),
      })),
    );
    byUid.set(op.uid, reads.map((r) => r.snapshot));
  }
  return { metadata, byUid };
}

/** What one operator subtask's state covers: ids only. */
export interface SubtaskCoverage {
  readonly subtask: number;
  /** Every key group its state file holds (read or not). */
  readonly keyGroups: readonly number[];
  /** A source's state: its splits, and the parallelism its reader ran at when it recorded it. */
  readonly source?: SourceOperatorState | undefined;
}

/**
 * Refuses an operator's state that does not cover each key group and each split once at the
 * parallelism `_metadata` records: the shape of a checkpoint completed with the wrong subtasks
 * (a live rescale its leader lost: the old subtasks' state at their new ranges, the added ones'
 * state missing), which would restore with key groups reset and splits never read again.
 * Subtasks without state are left out of `_metadata`, so a key group found nowhere may just be
 * empty: keyed state is checked for key groups where they cannot be, sources for subtasks that
 * are missing (a source subtask always leaves state). A live rescale's own checkpoint lists the
 * subtasks it adds, empty, beyond the old parallelism it records; they pass.
 */
export function checkStateCoverage(
  where: string,
  recorded: { readonly parallelism: number; readonly maxParallelism: number; readonly isSource: boolean },
  subtasks: readonly SubtaskCoverage[],
): void {
  const { parallelism, maxParallelism } = recorded;
  const refuse = (problem: string): never => {
    throw new RestoreError(`${where}: ${problem}; this checkpoint cannot be restored as it is — restore from an earlier checkpoint or snapshot`);
  };
  const present = new Set<number>();
  for (const { subtask } of subtasks) {
    if (present.has(subtask)) refuse(`subtask ${subtask} has two state files`);
    present.add(subtask);
  }
  const rangesKnown = Number.isInteger(parallelism) && parallelism >= 1 && parallelism <= maxParallelism;
  const keyGroupHolder = new Map<number, number>();
  for (const { subtask, keyGroups } of subtasks) {
    if (keyGroups.length === 0) continue;
    if (rangesKnown) {
      const owned = subtask < parallelism ? keyGroupRangeForSubtask(maxParallelism, parallelism, subtask) : KeyGroupRange.EMPTY;
      const outside = keyGroups.filter((g) => !owned.contains(g));
      if (outside.length > 0) {
        refuse(
          `subtask ${subtask} holds key groups ${describeIds(outside)}, but at the parallelism ${parallelism} the checkpoint records it owns ` +
            `${owned.isEmpty ? 'none' : owned.numberOfKeyGroups === 1 ? owned.startKeyGroup : `${owned.startKeyGroup}..${owned.endKeyGroup}`}: its state was written at another parallelism, and a restore would reset key groups`,
        );
      }
    }
    for (const keyGroup of keyGroups) {
      const other = keyGroupHolder.get(keyGroup);
      if (other !== undefined) refuse(`subtask ${subtask} holds key group ${keyGroup}, which subtask ${other} holds too`);
      keyGroupHolder.set(keyGroup, subtask);
    }
  }
  if (!recorded.isSource) return;
  const splitHolder = new Map<string, number>();
  for (const { subtask, source } of subtasks) {
    for (const split of source?.splits ?? []) {
      const other = splitHolder.get(split.id);
      if (other !== undefined) refuse(`subtask ${subtask} holds split "${split.id}", which subtask ${other} holds too: a restore would read it twice`);
      splitHolder.set(split.id, subtask);
    }
  }
  // The checkpoint's parallelism, or more where a subtask's reader ran at more (a rescale's added subtasks).
  const plausible = (p: number | undefined): p is number => Number.isInteger(p) && p! >= 1 && p! <= UPPER_BOUND_MAX_PARALLELISM;
  let ranAt = plausible(parallelism) ? parallelism : 0;
  let ranAtSource = `the checkpoint records parallelism ${parallelism}`;
  for (const { subtask, source } of subtasks) {
    if (plausible(source?.parallelism) && source.parallelism > ranAt) {
      ranAt = source.parallelism;
      ranAtSource = `subtask ${subtask} ran at parallelism ${ranAt} (the checkpoint records ${parallelism})`;
    }
  }
  const missing = [...Array(ranAt).keys()].filter((i) => !present.has(i));
  if (missing.length > 0) {
    refuse(`source ${missing.length === 1 ? 'subtask' : 'subtasks'} ${describeIds(missing)} left no state, but ${ranAtSource}: the splits ${missing.length === 1 ? 'it' : 'they'} read would never be read again`);
  }
}

/** Ascending ids as runs, the first few only: "3, 32..63, 70". */
function describeIds(ids: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    runs.push(i === j ? `${ids[i]}` : `${ids[i]}..${ids[j]}`);
    i = j + 1;
  }
  return runs.length <= 4 ? runs.join(', ') : `${runs.slice(0, 4).join(', ')} and ${runs.length - 4} more runs`;
}

/** Whether a key group of node `nodeId` belongs to one of the subtasks this process runs. */
function localKeyGroups(plan: JobPlan, nodeId: number, isLocal: (taskId: number, subtask: number) => boolean): (keyGroup: number) => boolean {
  const taskId = plan.taskOfNode.get(nodeId)!;
  const parallelism = plan.parallelismOf.get(nodeId)!;
  const maxParallelism = plan.maxParallelismOf.get(nodeId)!;
  const ranges = [...Array(parallelism).keys()].filter((i) => isLocal(taskId, i)).map((i) => keyGroupRangeForSubtask(maxParallelism, parallelism, i));
  return (keyGroup) => ranges.some((r) => r.contains(keyGroup));
}
