// The lifecycle of a job on the coordinator: its states and, in one table, the transitions
// allowed between them. Every change of state goes through `transition` with a reason; an
// illegal one throws instead of happening. The job record keeps the state and the latest
// transitions (from, to, reason, time), so a new leader resumes where the old one stood and an
// operator can read how the job got there.

import { SluiceError } from '../../shared/errors.ts';

export type JobState =
  | 'created'
  | 'deploying'
  | 'running'
  | 'stopping'
  | 'finishing'
  | 'restarting'
  | 'rescaling'
  | 'live-rescale-preparing'
  | 'live-rescale-switching'
  | 'live-rescale-completing'
  | 'finished'
  | 'cancelled'
  | 'stopped'
  | 'failed';

/** What each state is, for the README's table and for error messages. */
export const JOB_STATES: Readonly<Record<JobState, string>> = {
  created: 'submitted; nothing deployed yet',
  deploying: 'an attempt is being deployed to the workers',
  running: 'the attempt runs; periodic checkpoints, requested checkpoints and snapshots happen here',
  stopping: "stop with a checkpoint: the stop's checkpoint is in flight (its failure returns to running)",
  finishing: "every subtask of a bounded job finished: the final checkpoint is in flight (its failure returns to running)",
  restarting: 'the attempt failed or the leader changed; a new attempt is deployed after the backoff (or when slots are free)',
  rescaling: 'rescaling by restart: the attempt was checkpointed and cancelled, one at the new parallelism is deployed next',
  'live-rescale-preparing': 'a live rescale deploys the added subtasks and wires them to the running ones; a new leader rolls it back',
  'live-rescale-switching': "a live rescale's checkpoint switches every exchange to the new parallelism; a new leader finishes it if that checkpoint was published, else rolls it back",
  'live-rescale-completing': 'the switch is published: subtasks take over the key groups and splits they gained; a new leader finishes it',
  finished: 'a bounded job read all its input and committed its final checkpoint',
  cancelled: 'cancelled at once: what the last checkpoint did not commit is dropped',
  stopped: 'stopped with a final checkpoint (and maybe a snapshot); every sink committed',
  failed: 'the restart strategy gave up, or the job could not be deployed at all',
};

export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  created: ['deploying', 'restarting', 'cancelled', 'failed'],
  deploying: ['running', 'restarting', 'failed', 'cancelled'],
  running: ['stopping', 'finishing', 'restarting', 'rescaling', 'live-rescale-preparing', 'cancelled', 'failed'],
  stopping: ['stopped', 'running', 'restarting', 'cancelled', 'failed'],
  finishing: ['finished', 'running', 'restarting', 'cancelled', 'failed'],
  restarting: ['deploying', 'failed', 'cancelled'],
  // The attempt is replaced by one at the new parallelism; waiting for slots makes it restarting.
  rescaling: ['deploying', 'restarting', 'failed', 'cancelled'],
  'live-rescale-preparing': ['live-rescale-switching', 'restarting', 'cancelled', 'failed'],
  'live-rescale-switching': ['live-rescale-completing', 'restarting', 'cancelled', 'failed'],
  'live-rescale-completing': ['running', 'restarting', 'cancelled', 'failed'],
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
