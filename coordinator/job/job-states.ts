// The lifecycle of a job on the coordinator: its states and, in one table, the transitions
// allowed between them. Every change of state goes through `transition` with a reason; an
// illegal one throws instead of happening. The job record keeps the state and the latest
// transitions (from, to, reason, time), so a new leader resumes where the old one stood and an
// operator can read how the job got there.

import { SluiceError } from '../../shared/errors.ts';

export type JobState = 'created' | 'deploying' | 'running' | 'restarting' | 'rescaling' | 'finished' | 'cancelled' | 'stopped' | 'failed';

/** What each state is, for the README's table and for error messages. */
export const JOB_STATES: Readonly<Record<JobState, string>> = {
  created: 'submitted; nothing deployed yet',
  deploying: 'an attempt is being deployed to the workers',
  running: 'the attempt runs; checkpoints, snapshots, stops and rescales (live ones included) happen here',
  restarting: 'the attempt failed or the leader changed; a new attempt is deployed after the backoff (or when slots are free)',
  rescaling: 'rescaling by restart: the attempt was checkpointed and cancelled, one at the new parallelism is deployed next',
  finished: 'a bounded job read all its input and committed its final checkpoint',
  cancelled: 'cancelled at once: what the last checkpoint did not commit is dropped',
  stopped: 'stopped with a final checkpoint (and maybe a snapshot); every sink committed',
  failed: 'the restart strategy gave up, or the job could not be deployed at all',
};

export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  created: ['deploying', 'restarting', 'cancelled', 'failed'],
  deploying: ['running', 'restarting', 'failed', 'cancelled'],
  running: ['restarting', 'rescaling', 'finished', 'cancelled', 'stopped', 'failed'],
  restarting: ['deploying', 'failed', 'cancelled'],
  // The attempt is replaced by one at the new parallelism; waiting for slots makes it restarting.
  rescaling: ['deploying', 'restarting', 'failed', 'cancelled'],
  finished: [],
  cancelled: [],
  stopped: [],
  failed: [],
};

/** One change of state, as the job record keeps it. */
export interface JobTransition {
  readonly from: JobState;
  readonly to: JobState;
  readonly reason: string;
  readonly atMs: number;
}

/** Transitions the job record keeps: the latest ones, enough to tell how a job got where it is. */
export const TRANSITIONS_KEPT = 20;

export function isTerminal(state: JobState): boolean {
  return TRANSITIONS[state].length === 0;
}

export function checkTransition(jobId: string, from: JobState, to: JobState): void {
  if (!TRANSITIONS[from].includes(to)) throw new SluiceError(`job ${jobId}: illegal state transition ${from} → ${to}`);
}
