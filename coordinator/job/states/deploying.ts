// deploying: an attempt is being deployed (JobController.deployAttempt); it becomes running when
// every worker has it, and a failed deployment fails over.

import type { JobStateModule } from './job-state-module.ts';

export const deploying: JobStateModule = {
  state: 'deploying',
  attempt: 'deploying',
  async tick() {},
  // Some workers may have the attempt and some not: deploy a new one from the pointer.
  resume: (job) => job.restartAfterLeaderChange('leader change while an attempt was being deployed'),
};
