// An application's lifecycle operations as they run on the leader: StartApplication,
// StopApplication (with a snapshot, or forced), UpdateApplication and RollbackApplication of a
// running application (the old job stops with a snapshot, the new version starts from it, and a
// new version that does not start is rolled back when system rollback is on), and the
// autoscaler's rescales of a running job (application-autoscaling.ts). Each step is
// written to the operation's record, and every step checks what is done before doing it, so a
// new leader resumes an operation its predecessor left IN_PROGRESS.

import { randomUUID } from 'node:crypto';
import { codeLocationUrl } from '../../shared/application-code/code-location.ts';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage, FencedError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { isTerminal } from '../job/job-states.ts';
import type { ApplicationJobRequest, ApplicationJobs } from './application-jobs.ts';
import {
  checkSnapshotName,
  jobPropertiesOf,
  type ApplicationConfig,
  type ApplicationOperation,
  type ApplicationRecord,
  type ApplicationSnapshot,
  type OperationRequest,
} from './application-model.ts';
import type { ApplicationStatus } from './application-states.ts';
import type { ApplicationStore } from './application-store.ts';
import { InvalidApplicationConfigurationException } from './kinesis-analytics-errors.ts';

export interface ApplicationOperationsOptions {
  readonly store: ApplicationStore;
  readonly jobs: ApplicationJobs;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long a started job may take to run before the start fails. */
  readonly startTimeoutMs?: number;
}

export class ApplicationOperations {
  private disposed = false;
  private readonly store: ApplicationStore;

  constructor(private readonly options: ApplicationOperationsOptions) {
    this.store = options.store;
  }

  private get log(): Logger {
    return this.options.log;
  }

  dispose(): void {
    this.disposed = true;
  }

  async newOperation(record: ApplicationRecord, type: string, request: OperationRequest, versions: { versionFrom?: number; versionTo?: number }): Promise<ApplicationOperation> {
    const operation: ApplicationOperation = {
      id: randomUUID().replace(/-/g, '').slice(0, 20),
      application: record.name,
      type,
      status: 'IN_PROGRESS',
      startedAtMs: this.options.clock.now(),
      request,
      steps: [],
      ...versions,
    };
    await this.store.putOperation(operation);
    this.log.info('application operation started', { application: record.name, operation: operation.id, type });
    return operation;
  }

  /** Runs an operation to its end in the background; its outcome is in its record. */
  run(operation: ApplicationOperation): void {
    this.execute(operation).catch((error: unknown) => {
      if (error instanceof FencedError || this.store.deposed || this.disposed) return;
      this.log.error('an application operation failed unexpectedly', { application: operation.application, operation: operation.id, error: errorChainMessage(error) });
    });
  }

  private async execute(operation: ApplicationOperation): Promise<void> {
    const request = operation.request;
    switch (request.kind) {
      case 'start':
        return this.runStart(operation, request);
      case 'stop':
        return this.runStop(operation, request.force);
      case 'update':
      case 'rollback':
        return this.runReplace(operation, request);
      case 'rescale':
        return this.runRescale(operation, request);
    }
  }

  /**
   * Changes the running job's parallelism (AUTOSCALING). A new leader resuming it finds the job
   * rescaled already, or still rescaling (the job resumes its own rescale), or not yet asked: it
   * waits for the job to run and asks only when the parallelism is not the one wanted. A rescale
   * that fails leaves the job running as it was.
   */
  private async runRescale(operation: ApplicationOperation, request: Extract<OperationRequest, { kind: 'rescale' }>): Promise<void> {
    const name = operation.application;
    try {
      const record = await this.store.record(name);
      if (record.jobId === undefined) throw new Error(`application ${name} has no job to rescale`);
      await this.waitForJob(record.jobId, 'running');
      const job = this.options.jobs.job(record.jobId);
      if (job !== undefined && job.parallelism !== request.parallelism) {
        const result = await this.options.jobs.rescale(record.jobId, request.parallelism);
        await this.step(operation, `rescaled ${result.mode} from ${result.from} to ${result.to}`);
      }
      await this.finish(operation, 'RUNNING', {});
    } catch (error) {
      await this.fail(operation, error, 'RUNNING');
    }
  }

  private async runStart(operation: ApplicationOperation, request: Extract<OperationRequest, { kind: 'start' }>): Promise<void> {
    const name = operation.application;
    try {
      const record = await this.store.record(name);
      const snapshot = request.snapshotName === undefined ? undefined : await this.store.snapshot(name, request.snapshotName);
      const jobId = await this.startJob(operation, record, snapshot?.catalogName, request.allowNonRestoredState, 'job');
      await this.finish(operation, 'RUNNING', { jobId });
    } catch (error) {
      await this.fail(operation, error, 'READY');
    }
  }

  private async runStop(operation: ApplicationOperation, force: boolean): Promise<void> {
    const name = operation.application;
    try {
      const record = await this.store.record(name);
      const job = record.jobId === undefined ? undefined : this.options.jobs.job(record.jobId);
      if (job !== undefined && record.jobId !== undefined && !isTerminal(job.state)) {
        if (force || !record.config.snapshotsEnabled || job.state !== 'running') {
          await this.options.jobs.cancel(record.jobId);
        } else {
          const { snapshot } = await this.stopJobWithCheckpoint(operation, record, `stop-${operation.id}`, record.versionId);
          // Stopped applications start from their latest snapshot: it is READY before the stop ends.
          await this.copyToSnapshot(record.jobId, snapshot);
        }
      }
      await this.finish(operation, 'READY', { jobId: undefined });
    } catch (error) {
      // The job runs on: the application is as it was.
      await this.fail(operation, error, 'RUNNING');
    }
  }

  /**
   * An update or a rollback of a running application: the old job stops with a last checkpoint
   * and the new version starts from that checkpoint at once; the checkpoint is copied into the
   * application's snapshot meanwhile, off the new version's way. A new version that does not
   * start is rolled back to the old one from the same checkpoint when system rollback is enabled
   * (ROLLED_BACK).
   */
  private async runReplace(operation: ApplicationOperation, request: Extract<OperationRequest, { kind: 'update' | 'rollback' }>): Promise<void> {
    const name = operation.application;
    const record = await this.store.record(name);
    const previous = (await this.store.versions(name)).filter((v) => v.versionId < request.toVersion).sort((a, b) => b.versionId - a.versionId)[0];
    let restoreFrom: string;
    let snapshot: ApplicationSnapshot;
    try {
      ({ restoreFrom, snapshot } = await this.stopJobWithCheckpoint(operation, record, `${request.kind}-${operation.id}`, operation.versionFrom ?? record.versionId));
    } catch (error) {
      // The old version never stopped: it runs on at the old version.
      await this.fail(operation, error, 'RUNNING', previous ? { config: previous.config, versionId: previous.versionId } : {});
      return;
    }
    // Off the new version's way: it restores the checkpoint itself.
    this.copyToSnapshot(record.jobId!, snapshot).catch((error: unknown) =>
      this.log.warn('keeping the stopped job\'s checkpoint as the snapshot failed', { application: name, operation: operation.id, snapshot: snapshot.name, error: errorChainMessage(error) }),
    );
    try {
      const jobId = await this.startJob(operation, record, restoreFrom, false, 'job');
      await this.finish(operation, 'RUNNING', { jobId });
    } catch (error) {
      if (!record.config.rollbackEnabled && !previous?.config.rollbackEnabled) {
        await this.fail(operation, error, 'READY', { jobId: undefined });
        return;
      }
      this.log.warn('the new version did not start: rolling back to the previous one', { application: name, operation: operation.id, error: errorChainMessage(error) });
      try {
        await this.store.updateRecord(name, (r) => this.store.moved(r, 'ROLLING_BACK'));
        const old = previous!;
        const jobId = await this.startJob(operation, { ...record, config: old.config }, restoreFrom, false, 'rollback-job');
        await this.fail(operation, error, 'ROLLED_BACK', { jobId, versionRolledBackFrom: record.versionId, versionRolledBackTo: old.versionId, config: old.config });
      } catch (rollbackError) {
        await this.fail(operation, new Error(`${errorChainMessage(error)}; rolling back failed too: ${errorChainMessage(rollbackError)}`), 'READY', { jobId: undefined });
      }
    }
  }

  /** Starts the job of `record`'s configuration (once: a resumed operation finds the job it submitted) and waits until it runs. */
  private async startJob(operation: ApplicationOperation, record: ApplicationRecord, restoreFrom: string | undefined, allowNonRestoredState: boolean, step: string): Promise<string> {
    const request: ApplicationJobRequest = {
      ...this.jobRequestOf(record.name, record.config, restoreFrom, allowNonRestoredState),
      idempotencyKey: `${record.name}/${operation.id}/${step}`,
    };
    const jobId = await this.options.jobs.submit(request);
    await this.step(operation, `${step} submitted ${jobId}`);
    await this.store.updateRecord(record.name, (r) => ({ ...r, jobId }));
    await this.waitForJob(jobId, 'running');
    return jobId;
  }

  /**
   * Stops the record's job with a last checkpoint and answers where it is, for a new version to
   * restore, and the application snapshot it becomes (CREATING until copyToSnapshot copies it). A
   * resumed operation whose copy was made restores the snapshot.
   */
  private async stopJobWithCheckpoint(operation: ApplicationOperation, record: ApplicationRecord, snapshotName: string, versionId: number): Promise<{ restoreFrom: string; snapshot: ApplicationSnapshot }> {
    const { catalogName } = checkSnapshotName(record.name, snapshotName);
    if (record.jobId === undefined) throw new Error(`application ${record.name} has no job to stop`);
    const snapshot: ApplicationSnapshot = { application: record.name, name: snapshotName, status: 'CREATING', versionId, createdAtMs: this.options.clock.now(), catalogName };
    if (await this.options.jobs.hasSnapshot(catalogName)) return { restoreFrom: catalogName, snapshot: { ...snapshot, status: 'READY' } };
    await this.store.putSnapshot(snapshot);
    const restoreFrom = await this.options.jobs.stopWithCheckpoint(record.jobId);
    await this.step(operation, `stopped with checkpoint ${restoreFrom}`);
    return { restoreFrom, snapshot };
  }

  /** Copies the stopped job's checkpoint into the application's snapshot; its status says how that went (a failure is thrown on too). */
  private async copyToSnapshot(jobId: string, snapshot: ApplicationSnapshot): Promise<void> {
    if (snapshot.status === 'READY') return;
    try {
      await this.options.jobs.keepAsSnapshot(jobId, snapshot.catalogName);
    } catch (error) {
      await this.store.putSnapshot({ ...snapshot, status: 'FAILED' });
      throw error;
    }
    await this.store.putSnapshot({ ...snapshot, status: 'READY' });
  }

  private async waitForJob(jobId: string, state: 'running'): Promise<void> {
    const deadline = this.options.clock.now() + (this.options.startTimeoutMs ?? 300_000);
    for (;;) {
      if (this.disposed || this.store.deposed) throw new Error('this coordinator is no longer the leader');
      const job = this.options.jobs.job(jobId);
      if (job?.state === state) return;
      if (job && isTerminal(job.state)) throw new Error(`job ${jobId} is ${job.state}${job.failure ? `: ${job.failure}` : ''}`);
      if (job && job.state === 'restarting' && job.failure) throw new Error(`job ${jobId} failed to start: ${job.failure}`);
      if (this.options.clock.now() >= deadline) throw new Error(`job ${jobId} did not reach ${state} in ${this.options.startTimeoutMs ?? 300_000} ms (it is ${job?.state ?? 'unknown'})`);
      await new Promise<void>((resolve) => this.options.clock.schedule(100, resolve));
    }
  }

  private jobRequestOf(name: string, config: ApplicationConfig, restoreFrom: string | undefined, allowNonRestoredState: boolean): Omit<ApplicationJobRequest, 'idempotencyKey'> {
    return {
      applicationName: name,
      code: codeLocationUrl(config.code),
      properties: jobPropertiesOf(config),
      parallelism: config.parallelism.parallelism,
      stateBackend: config.stateBackend,
      checkpointing: { enabled: config.checkpointing.enabled, intervalMs: config.checkpointing.intervalMs, minPauseMs: config.checkpointing.minPauseMs },
      ...(restoreFrom === undefined ? {} : { restoreFrom }),
      allowNonRestoredState,
    };
  }

  /** A new version must load, build and restore the latest snapshot before anything of the old one stops. */
  async validate(name: string, config: ApplicationConfig, restoreFrom: string | undefined): Promise<void> {
    try {
      await this.options.jobs.validate(this.jobRequestOf(name, config, restoreFrom, false));
    } catch (error) {
      throw new InvalidApplicationConfigurationException(`application ${name}: the new version is refused and the running one goes on: ${errorChainMessage(error)}`, { cause: error });
    }
  }

  private async step(operation: ApplicationOperation, step: string): Promise<void> {
    const current = (await this.store.operation(operation.application, operation.id)) ?? operation;
    await this.store.putOperation({ ...current, steps: [...current.steps, step] });
    this.log.info('application operation step recorded', { application: operation.application, operation: operation.id, type: operation.type, step });
  }

  private async finish(operation: ApplicationOperation, status: ApplicationStatus, changes: Partial<ApplicationRecord>): Promise<void> {
    await this.store.updateRecord(operation.application, (r) => ({ ...this.store.moved({ ...r, ...changes }, status), operationId: undefined }));
    await this.endOperation(operation.application, operation.id, 'SUCCESSFUL');
  }

  private async fail(operation: ApplicationOperation, error: unknown, status: ApplicationStatus, changes: Partial<ApplicationRecord> = {}): Promise<void> {
    if (error instanceof FencedError) throw error;
    const failure = errorChainMessage(error);
    this.log.warn('application operation failed', { application: operation.application, operation: operation.id, type: operation.type, status, error: failure });
    await this.store.updateRecord(operation.application, (r) => ({ ...this.store.moved({ ...r, ...changes }, status), operationId: undefined }));
    await this.endOperation(operation.application, operation.id, 'FAILED', failure);
  }

  async endOperation(name: string, id: string, status: 'SUCCESSFUL' | 'FAILED' | 'CANCELLED', failure?: string): Promise<void> {
    const operation = await this.store.operation(name, id);
    if (!operation || operation.status !== 'IN_PROGRESS') return;
    await this.store.putOperation({ ...operation, status, endedAtMs: this.options.clock.now(), ...(failure === undefined ? {} : { failure }) });
    this.log.info('application operation ended', { application: name, operation: id, type: operation.type, status, ...(failure === undefined ? {} : { failure }) });
  }
}
