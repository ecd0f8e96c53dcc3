// The terminal states: finished, cancelled, stopped and failed. Nothing runs, nothing changes; a
// new leader keeps the record as it is.

import type { JobState } from '../job-states.ts';
import type { JobStateModule } from './job-state-module.ts';

function terminal(state: JobState): JobStateModule {
  return { state, attempt: 'none', async tick() {}, resume: async () => 'terminal' };
}

export const finished = terminal('finished');
export const cancelled = terminal('cancelled');
export const stopped = terminal('stopped');
export const failed = terminal('failed');
