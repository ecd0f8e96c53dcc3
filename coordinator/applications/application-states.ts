// The lifecycle of an application, with Managed Flink's statuses, and in one table the changes
// allowed between them. Every change goes through `checkApplicationTransition`; an illegal one
// throws instead of happening. What runs the application is a job (coordinator/job/), started,
// stopped and replaced by the application's operations.

import { SluiceError } from '../../shared/errors.ts';

export type ApplicationStatus =
  | 'READY'
  | 'STARTING'
  | 'RUNNING'
  | 'UPDATING'
  | 'AUTOSCALING'
  | 'STOPPING'
  | 'FORCE_STOPPING'
  | 'ROLLING_BACK'
  | 'ROLLED_BACK'
  | 'DELETING';

export const APPLICATION_STATUSES: Readonly<Record<ApplicationStatus, string>> = {
  READY: 'created or stopped: no job runs; it can be started, updated or deleted',
  STARTING: 'StartApplication: the code is fetched and checked, and the job is deployed',
  RUNNING: 'the job runs; snapshots are taken, updates and rollbacks start here',
  UPDATING: 'UpdateApplication on a running application: the new version is checked while the old one runs, then replaces it from a snapshot',
  AUTOSCALING: 'the parallelism is being changed (the autoscaler or a parallelism update)',
  STOPPING: 'StopApplication: the job stops with a snapshot when snapshots are enabled',
  FORCE_STOPPING: 'StopApplication with Force: the job is cancelled without a snapshot',
  ROLLING_BACK: 'RollbackApplication, or a system rollback: the previous version is restored from its snapshot',
  ROLLED_BACK: 'a system rollback ran the previous version again after the new one failed; the application runs',
  DELETING: 'DeleteApplication: the job is cancelled and the application removed',
};

export const APPLICATION_TRANSITIONS: Readonly<Record<ApplicationStatus, readonly ApplicationStatus[]>> = {
  READY: ['STARTING', 'DELETING'],
  STARTING: ['RUNNING', 'READY', 'FORCE_STOPPING', 'DELETING'],
  RUNNING: ['UPDATING', 'AUTOSCALING', 'STOPPING', 'FORCE_STOPPING', 'ROLLING_BACK', 'READY', 'DELETING'],
  UPDATING: ['RUNNING', 'ROLLING_BACK', 'READY', 'FORCE_STOPPING'],
  AUTOSCALING: ['RUNNING', 'READY', 'FORCE_STOPPING'],
  STOPPING: ['READY', 'RUNNING', 'FORCE_STOPPING'],
  FORCE_STOPPING: ['READY'],
  ROLLING_BACK: ['RUNNING', 'ROLLED_BACK', 'READY', 'FORCE_STOPPING'],
  ROLLED_BACK: ['UPDATING', 'AUTOSCALING', 'STOPPING', 'FORCE_STOPPING', 'ROLLING_BACK', 'READY', 'DELETING'],
  DELETING: [],
};

/** A job of the application runs (or is being started or replaced) in these statuses. */
export function isApplicationActive(status: ApplicationStatus): boolean {
  return status !== 'READY' && status !== 'DELETING';
}

export function checkApplicationTransition(name: string, from: ApplicationStatus, to: ApplicationStatus): void {
  if (!APPLICATION_TRANSITIONS[from].includes(to)) throw new SluiceError(`application ${name}: illegal status change ${from} → ${to}`);
}
