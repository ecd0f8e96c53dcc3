// The job lifecycle's states, one module each; the controller runs the current one. The record
// type makes the list complete: a state the table declares without a module does not compile.

import type { JobState } from '../job-states.ts';
import { created } from './created.ts';
import { deploying } from './deploying.ts';
import { finishing } from './finishing.ts';
import type { JobStateModule } from './job-state-module.ts';
import { liveCompleting } from './live-rescale-completing.ts';
import { livePreparing } from './live-rescale-preparing.ts';
import { liveSwitching } from './live-rescale-switching.ts';
import { rescaling } from './rescaling.ts';
import { restarting } from './restarting.ts';
import { running } from './running.ts';
import { stopping } from './stopping.ts';
import { cancelled, failed, finished, stopped } from './terminal.ts';

export type { JobStateModule, TakeOverOutcome } from './job-state-module.ts';

export const STATE_MODULES: Readonly<Record<JobState, JobStateModule>> = {
  created,
  deploying,
  running,
  stopping,
  finishing,
  restarting,
  rescaling,
  'live-rescale-preparing': livePreparing,
  'live-rescale-switching': liveSwitching,
  'live-rescale-completing': liveCompleting,
  finished,
  cancelled,
  stopped,
  failed,
};
