// finishing: every subtask of a bounded job has finished; the final checkpoint is in flight. Once
// it is complete and committed the job is finished; if it fails the job is running again and the
// next tick takes another.

import { errorChainMessage } from '../../../shared/errors.ts';
import type { JobController } from '../job-controller.ts';
import type { JobStateModule } from './job-state-module.ts';

export const finishing: JobStateModule = {
  state: 'finishing',
  attempt: 'running',
  async tick(job) {
    await job.maintainCheckpoints();
  },
  // The final checkpoint died with the leader: adopted, the running state takes it again.
  resume: (job) => job.adoptOrRestart(),
};

/**
 * Every subtask has finished (a running job's tick). A checkpoint that waited for acknowledgements
 * that may never come (a lost report) would hold the final one, and the end of the job, until it
 * expired: after an interval it is declined. Then the final checkpoint is taken.
 */
export async function beginFinishing(job: JobController): Promise<void> {
  const checkpoints = job.checkpointCoordinator!;
  const waiting = checkpoints.pendingCheckpointId;
  if (waiting !== undefined && job.allFinishedForMs() >= Math.min(job.checkpointing.checkpointIntervalMs, job.services.checkpointing.checkpointTimeoutMs)) {
    checkpoints.decline(waiting, 'every subtask finished while it waited for acknowledgements; the final checkpoint replaces it');
  }
  if (checkpoints.isBusy) return;
  await job.transition('finishing', 'every subtask finished: taking the final checkpoint');
  job
    .triggerCheckpoint()
    .then(
      async (info) => {
        if (job.currentState !== 'finishing') return;
        await job.transition('finished', `every subtask finished and the final checkpoint ${info.checkpointId} committed`);
        // After the state changed, so the heartbeats that no longer list the attempt fail nothing.
        await job.cancelAttempt('finished');
      },
      async (error: unknown) => {
        job.log.warn('the final checkpoint failed; retrying', { error: errorChainMessage(error) });
        if (job.currentState === 'finishing') await job.transition('running', `the final checkpoint failed: ${errorChainMessage(error)}`);
      },
    )
    .catch((error: unknown) => job.log.error('finishing the job failed', { error: errorChainMessage(error) }));
}
