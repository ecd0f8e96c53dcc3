// created: submitted, nothing deployed yet. `start` records the job and deploys its first attempt.

import type { JobStateModule } from './job-state-module.ts';

export const created: JobStateModule = {
  state: 'created',
  attempt: 'none',
  async tick() {},
  // The previous leader recorded the submission and went before deploying it.
  resume: (job) => job.restartAfterLeaderChange('leader change before the first attempt was deployed'),
};
