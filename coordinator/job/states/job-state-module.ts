// What each state of the job lifecycle is to the controller: whether an attempt is on the
// workers, what a tick does, and what a new leader does with a job record left in the state.

import type { JobController } from '../job-controller.ts';
import type { JobRecord } from '../job-record.ts';
import type { JobState } from '../job-states.ts';

export type TakeOverOutcome = 'adopted' | 'restarted' | 'terminal';

export interface JobStateModule {
  readonly state: JobState;
  /**
   * The attempt on the workers: 'none' (nothing deployed, its slots are free), 'deploying' (its
   * slots are taken) or 'running' (its slots are taken, heartbeats must list it, a lost worker fails it).
   */
  readonly attempt: 'none' | 'deploying' | 'running';
  /** What the controller does on each tick in this state. */
  tick(job: JobController): Promise<void>;
  /** A new leader found the job's record in this state. */
  resume(job: JobController, record: JobRecord): Promise<TakeOverOutcome>;
}
