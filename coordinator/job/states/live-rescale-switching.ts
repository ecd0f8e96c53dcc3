// live-rescale-switching: the rescale's checkpoint is triggered with the new split assignment; its
// barrier switches every exchange to the new partitioning. A new leader finishes the rescale if
// that checkpoint reached the pointer, and rolls it back if it did not.

import type { CompletedCheckpointInfo } from '../../../shared/checkpoint/checkpoint-coordinator.ts';
import type { JobController } from '../job-controller.ts';
import type { LiveRescaleProgress } from '../job-record.ts';
import type { JobStateModule } from './job-state-module.ts';
import type { PreparedRescale } from './live-rescale-preparing.ts';
import { resumeLiveRescale } from './live-rescale.ts';

export const liveSwitching: JobStateModule = {
  state: 'live-rescale-switching',
  attempt: 'running',
  async tick(job) {
    await job.maintainCheckpoints();
  },
  resume: (job, record) => resumeLiveRescale(job, 'switching', record.liveRescale),
};

export function switchRescale(job: JobController, progress: LiveRescaleProgress, prepared: PreparedRescale): Promise<CompletedCheckpointInfo> {
  return job.triggerCheckpoint(progress.checkpointId, { splitAssignment: prepared.splitAssignment });
}
