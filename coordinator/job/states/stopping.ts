// stopping: stop with a checkpoint. The stop's checkpoint is taken; once its sinks have committed
// the job is stopped and the attempt cancelled (with `snapshot`, the checkpoint is copied into a
// snapshot a later start restores from). If the checkpoint fails the job is running again and the
// stop fails.

import { errorChainMessage, InvalidRequestError } from '../../../shared/errors.ts';
import type { JobController } from '../job-controller.ts';
import type { RequestOf } from '../job-requests.ts';
import type { JobStateModule } from './job-state-module.ts';

export const stopping: JobStateModule = {
  state: 'stopping',
  attempt: 'running',
  async tick(job) {
    await job.maintainCheckpoints();
  },
  // The stop's caller went with the old leader (its client retries the stop): the job runs on.
  resume: (job) => job.adoptOrRestart(),
};

export async function stopWithCheckpoint(job: JobController, request: RequestOf<'stop'>): Promise<void> {
  await job.transition('stopping', `stop with a checkpoint${request.snapshot ? ' kept as a snapshot' : ''} requested`);
  let checkpointId: number;
  try {
    checkpointId = (await job.triggerCheckpoint()).checkpointId;
  } catch (error) {
    if (job.currentState === 'stopping') await job.transition('running', `the stop's checkpoint failed: ${errorChainMessage(error)}`);
    throw error;
  }
  if (job.currentState !== 'stopping') throw new InvalidRequestError(`the job became ${job.currentState} while the stop's checkpoint ${checkpointId} was taken`);
  await job.transition('stopped', `stopped with checkpoint ${checkpointId}${request.snapshot ? ' (kept as a snapshot)' : ''}`);
  await job.cancelAttempt('stopped with a checkpoint');
  const snapshot = request.snapshot ? await job.copyToSnapshot(checkpointId, request.name) : null;
  request.done.resolve({ jobId: job.jobId, state: job.currentState, checkpointId, snapshot });
}
