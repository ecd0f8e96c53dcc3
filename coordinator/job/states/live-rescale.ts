// A live rescale (see ClusterJobRunner, "live rescale"): the subtasks the new parallelism adds are
// deployed and wired to the running ones (live-rescale-preparing); a checkpoint's barrier then
// switches every exchange to the new partitioning (live-rescale-switching); once it is published,
// the key groups and source splits that changed owner are taken over from it while everything
// else keeps processing (live-rescale-completing). Each step is a state written to the job record
// with the rescale's from, to and checkpoint, so a new leader finishes or rolls it back.

import { errorChainMessage, InvalidRequestError } from '../../../shared/errors.ts';
import { liveRescaleRefusal } from '../../../shared/plan/job-plan.ts';
import { placeBesides } from '../../scheduler/slot-placement.ts';
import type { JobController } from '../job-controller.ts';
import type { LiveRescaleProgress } from '../job-record.ts';
import type { RequestOf, RescaleResult } from '../job-requests.ts';
import { completeRescale } from './live-rescale-completing.ts';
import { prepareRescale } from './live-rescale-preparing.ts';
import { switchRescale } from './live-rescale-switching.ts';

/** The job cannot be rescaled live (nothing was changed): it is rescaled by restart instead. */
export class LiveRescaleRefused extends Error {}

export type LiveRescalePhase = 'preparing' | 'switching' | 'completing';

/** Rescales the running attempt in place; throws LiveRescaleRefused, before changing anything, when the job cannot be. */
export async function runLiveRescale(job: JobController, request: RequestOf<'rescale'>): Promise<RescaleResult> {
  const parallelism = request.parallelism;
  const from = job.slotsNeeded;
  const previous = job.plan;
  const plan = job.planFor(parallelism);
  const refusal = liveRescaleRefusal(previous, plan);
  if (refusal !== undefined) throw new LiveRescaleRefused(refusal);
  // A subtask added now would wait forever for the end (or a barrier) of its input from a
  // subtask that finished before it existed: the restart restores the finished ones as finished.
  if (job.finishedSubtasks.size > 0) {
    throw new LiveRescaleRefused(`subtask(s) ${[...job.finishedSubtasks].sort().join(', ')} finished: new subtasks' inputs from them would never end`);
  }
  const placement = placeBesides(job.placement, plan, job.freeSlots(job.placement));
  if (!placement) throw new LiveRescaleRefused(`no free slots for parallelism ${parallelism} next to the running attempt`);

  const checkpointId = await job.reserveCheckpointId();
  const progress: LiveRescaleProgress = { from, to: parallelism, checkpointId };
  job.log.info('rescaling live', { from, to: parallelism, checkpointId });
  const prepared = await step(job, `preparing the live rescale to ${parallelism}`, async () => {
    await enterPhase(job, 'preparing', progress);
    return prepareRescale(job, progress, previous, plan, placement);
  });
  const info = await step(job, `the live rescale's checkpoint ${checkpointId}`, async () => {
    job.placement = [...job.placement, ...prepared.added];
    await enterPhase(job, 'switching', progress);
    return switchRescale(job, progress, prepared);
  });
  const completions = await step(job, `completing the live rescale to ${parallelism}`, async () => {
    job.setParallelism(parallelism);
    await enterPhase(job, 'completing', progress);
    return completeRescale(job, progress, prepared);
  });
  job.liveRescale = undefined;
  if (job.currentState !== 'live-rescale-completing') {
    // A failure while the workers completed it (a worker lost) took the job over: it restarts from
    // its latest checkpoint, at the new parallelism.
    throw new InvalidRequestError(
      `job ${job.jobId}: the live rescale ${from} → ${parallelism} completed while the job failed (it is ${job.currentState}); it restarts at parallelism ${parallelism} from its latest checkpoint`,
    );
  }
  await job.transition('running', `live rescale ${from} → ${parallelism} complete`);
  const result: RescaleResult = {
    from,
    to: parallelism,
    mode: 'live',
    checkpointId: info.checkpointId,
    pauseMs: Math.max(0, ...completions.map((c) => c.keyGroupPauseMs)),
    totalMs: job.services.clock.now() - request.requestedAtMs,
    keyGroupsMoved: completions.reduce((sum, c) => sum + c.keyGroupsTakenOver, 0),
    keyGroupsStaged: completions.reduce((sum, c) => sum + c.keyGroupsStaged, 0),
    splitsMoved: completions.reduce((sum, c) => sum + c.splitsTakenOver, 0),
    stashedRecords: completions.reduce((sum, c) => sum + c.stashedRecords, 0),
  };
  job.recordRescale(result);
  return result;
}

/** Enters a step's state; the step goes no further unless the job record has it. */
async function enterPhase(job: JobController, phase: LiveRescalePhase, progress: LiveRescaleProgress): Promise<void> {
  job.liveRescale = progress;
  const recorded = await job.transition(`live-rescale-${phase}`, `live rescale ${progress.from} → ${progress.to} (checkpoint ${progress.checkpointId}): ${phase}`);
  if (!recorded) throw new Error(`recording the live rescale's ${phase} step failed`);
  job.log.info('live rescale step recorded', { phase, ...progress });
}

/**
 * One step. A failure restarts the job from its latest checkpoint (some workers may be wired or
 * armed for a barrier that now never comes) and is rethrown.
 */
async function step<T>(job: JobController, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    await job.failover(new Error(`${what} failed: ${errorChainMessage(error)}`));
    throw error;
  }
}

/**
 * A new leader found a live rescale in flight. Its workers are wired for a switch this leader
 * knows too little of to finish in place, so the job restarts from the pointer: at the new
 * parallelism once the rescale's checkpoint is the pointer's (the switch happened: the rescale is
 * finished by the restart), at the old one before (it is rolled back). Adopting instead would run
 * subtasks this leader's checkpoints do not count.
 */
export async function resumeLiveRescale(job: JobController, phase: LiveRescalePhase, rescale: LiveRescaleProgress | undefined): Promise<'restarted'> {
  if (!rescale) return job.restartAfterLeaderChange(`leader change during a live rescale (${phase}) whose record has no progress`);
  const pointer = job.completedCheckpointId;
  const switched = pointer !== undefined && pointer >= rescale.checkpointId;
  const parallelism = switched ? rescale.to : rescale.from;
  job.log.info('a live rescale was in flight at the leader change: restarting from the latest checkpoint', { phase, ...rescale, pointer: pointer ?? null, parallelism });
  // The added subtasks may run on workers the recorded placement does not name.
  await job.cancelOnEveryWorkerRunningIt('a live rescale was interrupted by a leader change');
  return job.restartAfterLeaderChange(
    `leader change during a live rescale ${rescale.from} → ${rescale.to} (${phase}): ${
      switched ? `its checkpoint ${rescale.checkpointId} is the pointer's, so finished by restarting at ${rescale.to}` : `its checkpoint ${rescale.checkpointId} never became the pointer's, so back at ${rescale.from}`
    }`,
    parallelism,
  );
}
