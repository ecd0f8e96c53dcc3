// rescaling: rescaling by restart, for a job whose shape does not allow a live rescale. After a
// checkpoint the attempt is cancelled and one at the new parallelism is deployed that restores it:
// each subtask takes the key groups it now owns, the sources' splits are dealt out again. Output
// stays exactly-once: what the old attempt did after the checkpoint was never committed.

import { InvalidRequestError } from '../../../shared/errors.ts';
import type { JobController } from '../job-controller.ts';
import type { RequestOf } from '../job-requests.ts';
import type { JobStateModule } from './job-state-module.ts';

export const rescaling: JobStateModule = {
  state: 'rescaling',
  attempt: 'none',
  async tick() {},
  // The old attempt is cancelled and the new one was not recorded: the job restarts at the
  // parallelism its record has (the rescale's caller went with the old leader).
  resume: (job) => job.restartAfterLeaderChange('leader change during a rescale by restart: restarting at the recorded parallelism'),
};

export async function rescaleByRestart(job: JobController, request: RequestOf<'rescale'>, liveRefused: string): Promise<void> {
  const info = await job.triggerCheckpoint();
  if (job.currentState !== 'running') throw new InvalidRequestError(`the job became ${job.currentState} while checkpoint ${info.checkpointId} was taken`);
  const from = job.slotsNeeded;
  const checkpointedAtMs = job.services.clock.now();
  job.log.info('rescaling', { from, to: request.parallelism, checkpointId: info.checkpointId });
  await job.transition('rescaling', `rescaling by restart ${from} → ${request.parallelism} from checkpoint ${info.checkpointId} (not live: ${liveRefused})`);
  await job.stopCheckpointing();
  await job.cancelAttempt(`rescaling from ${from} to ${request.parallelism}`);
  job.setParallelism(request.parallelism);
  await job.deployAttempt();
  if (job.currentState !== 'running') throw new Error(`rescaling to ${request.parallelism}: the new attempt is ${job.currentState}${job.failureMessage ? `: ${job.failureMessage}` : ''}`);
  const runningAtMs = job.services.clock.now();
  const result = {
    from,
    to: request.parallelism,
    mode: 'restart' as const,
    checkpointId: info.checkpointId,
    pauseMs: runningAtMs - checkpointedAtMs,
    totalMs: runningAtMs - request.requestedAtMs,
    reason: liveRefused,
  };
  job.recordRescale(result);
  request.done.resolve(result);
}
