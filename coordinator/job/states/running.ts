// running: the attempt runs. Each tick looks after the checkpoints (a fatal failure fails over,
// overdue ones expire), notices when every subtask of a bounded job has finished (then finishing),
// runs the next queued request (checkpoint, snapshot, stop, rescale), and else triggers the
// periodic checkpoint when it is due.

import type { JobStateModule } from './job-state-module.ts';
import type { LiveRescaleProgress } from '../job-record.ts';
import { beginFinishing } from './finishing.ts';
import { resumeLiveRescale, type LiveRescalePhase } from './live-rescale.ts';

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
  // commit only what a completed checkpoint covers), else restarted from the pointer. A record of
  // an older version kept a live rescale's step beside `running`.
  resume: (job, record) => {
    const legacy = record.liveRescale as (LiveRescaleProgress & { phase?: LiveRescalePhase }) | undefined;
    return legacy ? resumeLiveRescale(job, legacy.phase ?? 'switching', legacy) : job.adoptOrRestart();
  },
};
