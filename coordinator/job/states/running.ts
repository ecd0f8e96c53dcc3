// running: the attempt runs. Each tick looks after the checkpoints (a fatal failure fails over,
// overdue ones expire), notices when every subtask of a bounded job has finished (then finishing),
// runs the next queued request (checkpoint, snapshot, stop, rescale), and else triggers the
// periodic checkpoint when it is due.

import type { JobStateModule } from './job-state-module.ts';
import { beginFinishing } from './finishing.ts';

export const running: JobStateModule = {
  state: 'running',
  attempt: 'running',
  async tick(job) {
    if (!(await job.maintainCheckpoints())) return;
    if (job.allSubtasksFinished()) {
      await beginFinishing(job);
      return;
    }
    if (job.runRequests()) return;
    job.triggerPeriodicCheckpointIfDue();
  },
  // Adopted as it runs when every subtask is still reported (nothing was lost meanwhile: sinks
  // commit only what a completed checkpoint covers), else restarted from the pointer.
  resume: (job) => job.adoptOrRestart(),
};
