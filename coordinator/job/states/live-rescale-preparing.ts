// live-rescale-preparing: the subtasks the new parallelism adds are deployed (on workers new to the
// job, with the job's deployment) and every worker of the job is wired to them; the sources report
// their splits, which are dealt anew. Nothing has switched: a new leader rolls the rescale back.

import { decodeSplitIds, encodeSplitIds, type SplitAssignmentMessage } from '../../../shared/rpc/worker-gateway.ts';
import type { JobPlan } from '../../../shared/plan/job-plan.ts';
import { assignSplits } from '../../../shared/plan/split-assignment.ts';
import type { PlacementEntry } from '../../scheduler/slot-placement.ts';
import type { JobController } from '../job-controller.ts';
import type { LiveRescaleProgress } from '../job-record.ts';
import type { JobStateModule } from './job-state-module.ts';
import { resumeLiveRescale } from './live-rescale.ts';

export const livePreparing: JobStateModule = {
  state: 'live-rescale-preparing',
  attempt: 'running',
  async tick(job) {
    await job.maintainCheckpoints();
  },
  resume: (job, record) => resumeLiveRescale(job, 'preparing', record.liveRescale),
};

/** What the preparation decided, for the switch and the completion. */
export interface PreparedRescale {
  readonly attempt: number;
  /** The placement at the new parallelism. */
  readonly placement: readonly PlacementEntry[];
  /** Subtasks the new parallelism adds. */
  readonly added: readonly PlacementEntry[];
  /** Every worker of the job before or after. */
  readonly involved: readonly string[];
  /** The split ids of each source subtask of a rescaled source, as the barrier and the completion carry them. */
  readonly splitAssignment: SplitAssignmentMessage;
}

export async function prepareRescale(job: JobController, progress: LiveRescaleProgress, previous: JobPlan, plan: JobPlan, placement: readonly PlacementEntry[]): Promise<PreparedRescale> {
  const before = job.placement;
  const isOld = new Set(before.map((p) => `${p.taskId}/${p.subtask}`));
  const added = placement.filter((p) => !isOld.has(`${p.taskId}/${p.subtask}`));
  const workersBefore = new Set(before.map((p) => p.workerId));
  const attempt = job.currentAttempt;
  const placements = placement.map((p) => ({ ...p, dataAddress: job.services.workers.get(p.workerId)!.dataAddress }));
  const involved = [...new Set([...workersBefore, ...placement.map((p) => p.workerId)])];
  const responses = await Promise.all(
    involved.map((workerId) => {
      const mine = added.filter((p) => p.workerId === workerId).map((p) => ({ taskId: p.taskId, subtask: p.subtask }));
      return job.callWorker(job.services.workers.get(workerId)!, 'PrepareRescale', {
        jobId: job.jobId,
        attempt,
        parallelism: progress.to,
        checkpointId: progress.checkpointId,
        stagingCheckpointId: job.completedCheckpointId ?? 0,
        subtasks: mine,
        placements,
        ...(workersBefore.has(workerId) ? {} : { deployment: job.deploymentRequest(attempt, []) }),
      }, 60_000);
    }),
  );
  const splitsBySubtask = new Map(responses.flatMap((response) => [...decodeSplitIds(response.splits)]));
  const splitAssignment = { subtasks: encodeSplitIds(assignSplits(previous, plan, splitsBySubtask, job.finishedSubtasks)) };
  job.addAttemptWorkers(involved);
  return { attempt, placement, added, involved, splitAssignment };
}
