// live-rescale-completing: the switch is published; every worker's subtasks take over the key
// groups and splits they gained, from the rescale's checkpoint or straight from their old owner.
// The job is at the new parallelism: a new leader finishes the rescale by restarting at it.

import type { RescaleCompletion } from '../../../shared/rpc/worker-reports.ts';
import type { JobController } from '../job-controller.ts';
import type { LiveRescaleProgress } from '../job-record.ts';
import type { JobStateModule } from './job-state-module.ts';
import type { PreparedRescale } from './live-rescale-preparing.ts';
import { resumeLiveRescale } from './live-rescale.ts';

export const liveCompleting: JobStateModule = {
  state: 'live-rescale-completing',
  attempt: 'running',
  async tick(job) {
    await job.maintainCheckpoints();
  },
  resume: (job, record) => resumeLiveRescale(job, 'completing', record.liveRescale),
};

export async function completeRescale(job: JobController, progress: LiveRescaleProgress, prepared: PreparedRescale): Promise<RescaleCompletion[]> {
  const completions = await Promise.all(
    prepared.involved.map((workerId) =>
      job.callWorker(job.services.workers.get(workerId)!, 'CompleteRescale', {
        jobId: job.jobId,
        attempt: prepared.attempt,
        checkpointId: progress.checkpointId,
        splitAssignment: prepared.splitAssignment,
      }, 120_000),
    ),
  );
  job.placement = [...prepared.placement];
  // Their runner of this attempt has no subtasks left; it is cancelled with the attempt (a later rescale may use it again).
  job.rescaledAway(prepared.involved.filter((workerId) => !prepared.placement.some((p) => p.workerId === workerId)));
  job.forgetFinishedOutside(prepared.placement);
  return completions;
}
