// The lifecycle of a job on the coordinator, as a type and a table of allowed transitions: an
// illegal transition throws instead of happening. The state is persisted with the job record, so a
// new leader resumes where the old one stood.

import { SluiceError } from '../../shared/errors.ts';

export type JobState = 'created' | 'deploying' | 'running' | 'restarting' | 'rescaling' | 'finished' | 'cancelled' | 'stopped' | 'failed';

const ALLOWED: Readonly<Record<JobState, readonly JobState[]>> = {
  created: ['deploying', 'cancelled', 'failed'],
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

export function isTerminal(state: JobState): boolean {
  return ALLOWED[state].length === 0;
}

export function checkTransition(jobId: string, from: JobState, to: JobState): void {
  if (!ALLOWED[from].includes(to)) throw new SluiceError(`job ${jobId}: illegal state transition ${from} → ${to}`);
}
