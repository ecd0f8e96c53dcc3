// restarting: the attempt failed, a leader changed or slots are short; the next attempt is
// deployed once the restart strategy's backoff has passed (and again while slots are short).

import type { JobStateModule } from './job-state-module.ts';

export const restarting: JobStateModule = {
  state: 'restarting',
  attempt: 'none',
  async tick(job) {
    if (job.isRestartDue()) await job.deployAttempt();
  },
  resume: (job) => job.restartAfterLeaderChange('leader change while the job was restarting'),
};
