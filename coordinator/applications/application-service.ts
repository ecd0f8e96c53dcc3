// The managed service's applications (Amazon Managed Service for Apache Flink's shape): lasting
// objects in the HA store with versions, snapshots, tags and operations, driven through the
// kinesisanalyticsv2 operations. A lifecycle action answers at once with an operation id; the
// operation then runs here, step by step, each step written to the store (fenced), so a new
// leader resumes an operation its predecessor left IN_PROGRESS. What runs an application is a
// job (ApplicationJobs): started from the code in S3, stopped with a snapshot, and replaced from
// that snapshot by an update or a rollback.

import { randomUUID } from 'node:crypto';
import type * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { codeLocationUrl } from '../../shared/application-code/code-location.ts';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage, FencedError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';
import type { KinesisAnalyticsOperationHandlers } from './api-handler.ts';
import type { ApplicationJobRequest, ApplicationJobs } from './application-jobs.ts';
import {
  APPLICATION_KEY_PREFIX,
  applicationArn,
  applicationDetailOf,
  applicationKey,
  checkApplicationName,
  checkSnapshotName,
  compileCreateConfig,
  compileUpdatedConfig,
  jobPropertiesOf,
  operationKey,
  operationPrefix,
  snapshotKey,
  snapshotPrefix,
  SLUICE_RUNTIME_ENVIRONMENT,
  versionKey,
  versionPrefix,
  type ApplicationConfig,
  type ApplicationOperation,
  type ApplicationRecord,
  type ApplicationSnapshot,
  type ApplicationVersion,
  type OperationRequest,
} from './application-model.ts';
import { checkApplicationTransition, isApplicationActive, type ApplicationStatus } from './application-states.ts';
import {
  ConcurrentModificationException,
  InvalidApplicationConfigurationException,
  InvalidArgumentException,
  ResourceInUseException,
  ResourceNotFoundException,
  TooManyTagsException,
} from './kinesis-analytics-errors.ts';

export interface ApplicationServiceOptions {
  readonly ha: HighAvailabilityServices;
  readonly leadership: Leadership;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly jobs: ApplicationJobs;
  /** For ARNs. */
  readonly region: string;
  readonly accountId: string;
  /** How long a started job may take to run before the start fails. */
  readonly startTimeoutMs?: number;
  /** A fenced write was refused: this coordinator is no longer the leader. */
  readonly onFenced: (error: Error) => void;
}

const MAX_TAGS = 50;

export class ApplicationService {
  private readonly log: Logger;
  /** One action at a time per application: its record is read, checked and written whole. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private disposed = false;

  constructor(private readonly options: ApplicationServiceOptions) {
    this.log = options.logger.child({ component: 'applications' });
  }

  /**
   * A new leader: resumes every operation its predecessor left in progress. One it recorded but
   * did not get to name in the application's record did nothing yet (its caller had no answer):
   * it fails, and the caller's retry starts it afresh.
   */
  async start(): Promise<void> {
    for (const record of await this.records()) {
      for (const operation of await this.operations(record.name)) {
        if (operation.status !== 'IN_PROGRESS' || operation.id === record.operationId) continue;
        await this.endOperation(record.name, operation.id, 'FAILED', 'the leader changed before the operation began; nothing was done');
      }
      if (record.operationId === undefined) continue;
      const operation = await this.operation(record.name, record.operationId);
      if (operation?.status !== 'IN_PROGRESS') continue;
      this.log.info('resuming an operation the previous leader left in progress', { application: record.name, operation: operation.id, type: operation.type, steps: operation.steps });
      this.run(operation);
    }
  }

  dispose(): void {
    this.disposed = true;
  }

  readonly handlers: KinesisAnalyticsOperationHandlers = {
    CreateApplication: (input) => this.createApplication(input),
    DescribeApplication: async (input) => ({ ApplicationDetail: this.detailOf(await this.record(checkApplicationName(input.ApplicationName))) }),
    ListApplications: async (input) => {
      const records = (await this.records()).sort((a, b) => a.name.localeCompare(b.name));
      const page = paginate(records, input.NextToken, input.Limit, 50);
      return {
        ApplicationSummaries: page.items.map((r) => ({
          ApplicationName: r.name,
          ApplicationARN: r.arn,
          ApplicationStatus: r.status as sdk.ApplicationStatus,
          ApplicationVersionId: r.versionId,
          RuntimeEnvironment: r.runtime as sdk.RuntimeEnvironment,
          ApplicationMode: 'STREAMING',
        })),
        ...(page.next === undefined ? {} : { NextToken: page.next }),
      };
    },
    UpdateApplication: (input) => this.updateApplication(input),
    DeleteApplication: (input) => this.deleteApplication(input),
    StartApplication: (input) => this.startApplication(input),
    StopApplication: (input) => this.stopApplication(input),
    RollbackApplication: (input) => this.rollbackApplication(input),
    CreateApplicationSnapshot: (input) => this.createSnapshot(input),
    ListApplicationSnapshots: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      await this.record(name);
      const snapshots = (await this.snapshots(name)).sort((a, b) => b.createdAtMs - a.createdAtMs);
      const page = paginate(snapshots, input.NextToken, input.Limit, 50);
      return { SnapshotSummaries: page.items.map(snapshotDetailsOf), ...(page.next === undefined ? {} : { NextToken: page.next }) };
    },
    DescribeApplicationSnapshot: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      return { SnapshotDetails: snapshotDetailsOf(await this.snapshot(name, input.SnapshotName)) };
    },
    DeleteApplicationSnapshot: (input) => this.deleteSnapshot(input),
    ListApplicationVersions: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      const record = await this.record(name);
      const versions = (await this.versions(name)).sort((a, b) => b.versionId - a.versionId);
      const page = paginate(versions, input.NextToken, input.Limit, 50);
      return {
        ApplicationVersionSummaries: page.items.map((v) => ({ ApplicationVersionId: v.versionId, ApplicationStatus: (v.versionId === record.versionId ? record.status : 'READY') as sdk.ApplicationStatus })),
        ...(page.next === undefined ? {} : { NextToken: page.next }),
      };
    },
    DescribeApplicationVersion: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      const record = await this.record(name);
      const version = (await this.versions(name)).find((v) => v.versionId === input.ApplicationVersionId);
      if (!version) throw new ResourceNotFoundException(`ApplicationVersionId: application ${name} has no version ${JSON.stringify(input.ApplicationVersionId)}`);
      const status = version.versionId === record.versionId ? record.status : 'READY';
      return { ApplicationVersionDetail: applicationDetailOf({ ...record, versionId: version.versionId, config: version.config, status }, undefined) };
    },
    ListApplicationOperations: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      await this.record(name);
      const operations = (await this.operations(name))
        .filter((o) => input.Operation === undefined || o.type === input.Operation)
        .filter((o) => input.OperationStatus === undefined || o.status === input.OperationStatus)
        .sort((a, b) => b.startedAtMs - a.startedAtMs);
      const page = paginate(operations, input.NextToken, input.Limit, 50);
      return {
        ApplicationOperationInfoList: page.items.map((o) => ({
          Operation: o.type,
          OperationId: o.id,
          StartTime: new Date(o.startedAtMs),
          ...(o.endedAtMs === undefined ? {} : { EndTime: new Date(o.endedAtMs) }),
          OperationStatus: o.status,
        })),
        ...(page.next === undefined ? {} : { NextToken: page.next }),
      };
    },
    DescribeApplicationOperation: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      await this.record(name);
      const operation = typeof input.OperationId === 'string' ? await this.operation(name, input.OperationId) : undefined;
      if (!operation) throw new ResourceNotFoundException(`OperationId: application ${name} has no operation ${JSON.stringify(input.OperationId)}`);
      return {
        ApplicationOperationInfoDetails: {
          Operation: operation.type,
          StartTime: new Date(operation.startedAtMs),
          EndTime: operation.endedAtMs === undefined ? undefined : new Date(operation.endedAtMs),
          OperationStatus: operation.status,
          ...(operation.versionFrom === undefined
            ? {}
            : { ApplicationVersionChangeDetails: { ApplicationVersionUpdatedFrom: operation.versionFrom, ApplicationVersionUpdatedTo: operation.versionTo ?? operation.versionFrom } }),
          ...(operation.failure === undefined ? {} : { OperationFailureDetails: { ErrorInfo: { ErrorString: operation.failure } } }),
        },
      };
    },
    TagResource: (input) => this.tag(input.ResourceARN, (tags) => {
      for (const tag of input.Tags ?? []) {
        if (typeof tag.Key !== 'string' || tag.Key === '' || tag.Key.length > 128) throw new InvalidArgumentException(`Tags: a key is 1 to 128 characters, got ${JSON.stringify(tag.Key)}`);
        tags[tag.Key] = tag.Value ?? '';
      }
    }),
    UntagResource: (input) => this.tag(input.ResourceARN, (tags) => {
      for (const key of input.TagKeys ?? []) delete tags[key];
    }),
    ListTagsForResource: async (input) => {
      const record = await this.recordOfArn(input.ResourceARN);
      return { Tags: Object.entries(record.tags).map(([Key, Value]) => ({ Key, Value })) };
    },
  };

  // ---- applications -------------------------------------------------------------------------

  private async createApplication(input: sdk.CreateApplicationRequest): Promise<sdk.CreateApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    if ((input.RuntimeEnvironment as string | undefined) !== SLUICE_RUNTIME_ENVIRONMENT) {
      throw new InvalidArgumentException(`RuntimeEnvironment: this service runs ${SLUICE_RUNTIME_ENVIRONMENT} applications (packaged with \`sluice package\`), got ${JSON.stringify(input.RuntimeEnvironment)}`);
    }
    if (input.ApplicationMode !== undefined && input.ApplicationMode !== 'STREAMING') {
      throw new InvalidArgumentException(`ApplicationMode: only STREAMING, got ${JSON.stringify(input.ApplicationMode)}`);
    }
    const config = compileCreateConfig(input);
    const tags = tagsOf(input.Tags);
    return this.locked(name, async () => {
      if ((await this.options.ha.get(applicationKey(name))) !== undefined) throw new ResourceInUseException(`ApplicationName: an application named ${name} exists already`);
      const now = this.options.clock.now();
      const record: ApplicationRecord = {
        name,
        arn: applicationArn(this.options.region, this.options.accountId, name),
        runtime: SLUICE_RUNTIME_ENVIRONMENT,
        createdAtMs: now,
        updatedAtMs: now,
        versionId: 1,
        status: 'READY',
        config,
        tags,
      };
      await this.putVersion({ application: name, versionId: 1, config, createdAtMs: now });
      await this.putRecord(record);
      this.log.info('application created', { application: name, code: codeLocationUrl(config.code) });
      return { ApplicationDetail: this.detailOf(record) };
    });
  }

  private async updateApplication(input: sdk.UpdateApplicationRequest): Promise<sdk.UpdateApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    if (input.RunConfigurationUpdate !== undefined && input.ApplicationConfigurationUpdate === undefined) {
      // Only what the next start uses; nothing of it is kept between starts here.
      throw new InvalidArgumentException('RunConfigurationUpdate: give the run configuration to StartApplication instead');
    }
    return this.locked(name, async () => {
      const record = await this.record(name);
      this.checkVersion(record, input.CurrentApplicationVersionId, input.ConditionalToken);
      if (record.status !== 'READY' && record.status !== 'RUNNING' && record.status !== 'ROLLED_BACK') {
        throw new ResourceInUseException(`application ${name} is ${record.status}; it is updated when READY or RUNNING`);
      }
      const config = compileUpdatedConfig(record.config, input.ApplicationConfigurationUpdate);
      const versionId = record.versionId + 1;
      const now = this.options.clock.now();
      if (!isApplicationActive(record.status)) {
        await this.putVersion({ application: name, versionId, config, createdAtMs: now });
        const updated: ApplicationRecord = { ...record, config, versionId, updatedAtMs: now, versionUpdatedFrom: record.versionId };
        await this.putRecord(updated);
        this.log.info('application updated', { application: name, from: record.versionId, to: versionId });
        return { ApplicationDetail: this.detailOf(updated) };
      }
      // A running application: the new version is checked while the old one runs; only then it is replaced.
      const latest = await this.latestSnapshot(name);
      await this.validate(name, config, latest?.catalogName);
      await this.putVersion({ application: name, versionId, config, createdAtMs: now });
      const operation = await this.newOperation(record, 'UpdateApplication', { kind: 'update', toVersion: versionId }, { versionFrom: record.versionId, versionTo: versionId });
      const updated: ApplicationRecord = { ...record, config, versionId, updatedAtMs: now, versionUpdatedFrom: record.versionId, operationId: operation.id };
      await this.putRecord(this.moved(updated, 'UPDATING'));
      this.run(operation);
      return { ApplicationDetail: this.detailOf(this.moved(updated, 'UPDATING')), OperationId: operation.id };
    });
  }

  private async deleteApplication(input: sdk.DeleteApplicationRequest): Promise<sdk.DeleteApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    return this.locked(name, async () => {
      const record = await this.record(name);
      const created = input.CreateTimestamp instanceof Date ? input.CreateTimestamp.getTime() : undefined;
      if (created === undefined || Math.floor(created / 1000) !== Math.floor(record.createdAtMs / 1000)) {
        throw new InvalidArgumentException(`CreateTimestamp: must be the application's creation time (${new Date(record.createdAtMs).toISOString()})`);
      }
      if (record.operationId !== undefined && !['RUNNING', 'READY', 'ROLLED_BACK'].includes(record.status)) {
        throw new ResourceInUseException(`application ${name} is ${record.status} (operation ${record.operationId}); delete it when that is done`);
      }
      await this.putRecord(this.moved(record, 'DELETING'));
      if (record.jobId !== undefined && this.options.jobs.job(record.jobId) !== undefined) await this.options.jobs.cancel(record.jobId);
      for (const snapshot of await this.snapshots(name)) {
        if (await this.options.jobs.hasSnapshot(snapshot.catalogName)) await this.options.jobs.deleteSnapshot(snapshot.catalogName);
        await this.fenced(() => this.options.ha.deleteFenced(this.options.leadership, snapshotKey(name, snapshot.name)));
      }
      for (const prefix of [versionPrefix(name), operationPrefix(name)]) {
        for (const key of (await this.options.ha.getPrefix(prefix)).keys()) await this.fenced(() => this.options.ha.deleteFenced(this.options.leadership, key));
      }
      await this.fenced(() => this.options.ha.deleteFenced(this.options.leadership, applicationKey(name)));
      this.log.info('application deleted', { application: name });
      return {};
    });
  }

  private async startApplication(input: sdk.StartApplicationRequest): Promise<sdk.StartApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    const restoreConfig = input.RunConfiguration?.ApplicationRestoreConfiguration;
    const restore = restoreConfig?.ApplicationRestoreType ?? 'RESTORE_FROM_LATEST_SNAPSHOT';
    if (!['SKIP_RESTORE_FROM_SNAPSHOT', 'RESTORE_FROM_LATEST_SNAPSHOT', 'RESTORE_FROM_CUSTOM_SNAPSHOT'].includes(restore)) {
      throw new InvalidArgumentException(`RunConfiguration.ApplicationRestoreConfiguration.ApplicationRestoreType: SKIP_RESTORE_FROM_SNAPSHOT, RESTORE_FROM_LATEST_SNAPSHOT or RESTORE_FROM_CUSTOM_SNAPSHOT, got ${JSON.stringify(restore)}`);
    }
    return this.locked(name, async () => {
      const record = await this.record(name);
      if (record.status !== 'READY') throw new ResourceInUseException(`application ${name} is ${record.status}; only a READY application starts`);
      let snapshotName: string | undefined;
      if (restore === 'RESTORE_FROM_CUSTOM_SNAPSHOT') {
        if (restoreConfig?.SnapshotName === undefined) throw new InvalidArgumentException('RunConfiguration.ApplicationRestoreConfiguration.SnapshotName: required with RESTORE_FROM_CUSTOM_SNAPSHOT');
        const snapshot = await this.snapshot(name, restoreConfig.SnapshotName);
        if (snapshot.status !== 'READY') throw new InvalidArgumentException(`RunConfiguration.ApplicationRestoreConfiguration.SnapshotName: snapshot ${snapshot.name} is ${snapshot.status}`);
        snapshotName = snapshot.name;
      } else if (restore === 'RESTORE_FROM_LATEST_SNAPSHOT') {
        snapshotName = (await this.latestSnapshot(name))?.name;
      }
      const request: OperationRequest = {
        kind: 'start',
        restore: restore as 'SKIP_RESTORE_FROM_SNAPSHOT' | 'RESTORE_FROM_LATEST_SNAPSHOT' | 'RESTORE_FROM_CUSTOM_SNAPSHOT',
        ...(snapshotName === undefined ? {} : { snapshotName }),
        allowNonRestoredState: input.RunConfiguration?.FlinkRunConfiguration?.AllowNonRestoredState ?? false,
      };
      const operation = await this.newOperation(record, 'StartApplication', request, {});
      await this.putRecord(this.moved({ ...record, operationId: operation.id }, 'STARTING'));
      this.run(operation);
      return { OperationId: operation.id };
    });
  }

  private async stopApplication(input: sdk.StopApplicationRequest): Promise<sdk.StopApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    const force = input.Force === true;
    return this.locked(name, async () => {
      const record = await this.record(name);
      const stoppable: ApplicationStatus[] = force ? ['STARTING', 'RUNNING', 'UPDATING', 'AUTOSCALING', 'STOPPING', 'ROLLING_BACK', 'ROLLED_BACK'] : ['RUNNING', 'ROLLED_BACK'];
      if (!stoppable.includes(record.status)) throw new ResourceInUseException(`application ${name} is ${record.status}; ${force ? 'nothing to stop' : 'only a RUNNING application stops (Force stops one in another status)'}`);
      if (force && record.operationId !== undefined) await this.endOperation(name, record.operationId, 'CANCELLED', 'stopped with Force');
      const operation = await this.newOperation(record, force ? 'ForceStopApplication' : 'StopApplication', { kind: 'stop', force }, {});
      await this.putRecord(this.moved({ ...record, operationId: operation.id }, force ? 'FORCE_STOPPING' : 'STOPPING'));
      this.run(operation);
      return { OperationId: operation.id };
    });
  }

  private async rollbackApplication(input: sdk.RollbackApplicationRequest): Promise<sdk.RollbackApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    return this.locked(name, async () => {
      const record = await this.record(name);
      this.checkVersion(record, input.CurrentApplicationVersionId, undefined);
      if (!['READY', 'RUNNING', 'ROLLED_BACK'].includes(record.status)) throw new ResourceInUseException(`application ${name} is ${record.status}; it is rolled back when READY or RUNNING`);
      const target = (await this.versions(name)).filter((v) => v.versionId < record.versionId).sort((a, b) => b.versionId - a.versionId)[0];
      if (!target) throw new InvalidArgumentException(`CurrentApplicationVersionId: application ${name} has no version before ${record.versionId} to roll back to`);
      const versionId = record.versionId + 1;
      const now = this.options.clock.now();
      await this.putVersion({ application: name, versionId, config: target.config, createdAtMs: now });
      const rolled: ApplicationRecord = { ...record, config: target.config, versionId, updatedAtMs: now, versionRolledBackFrom: record.versionId, versionRolledBackTo: target.versionId };
      if (!isApplicationActive(record.status)) {
        await this.putRecord(rolled);
        return { ApplicationDetail: this.detailOf(rolled) };
      }
      const operation = await this.newOperation(record, 'RollbackApplication', { kind: 'rollback', toVersion: versionId, system: false }, { versionFrom: record.versionId, versionTo: target.versionId });
      const moving = this.moved({ ...rolled, operationId: operation.id }, 'ROLLING_BACK');
      await this.putRecord(moving);
      this.run(operation);
      return { ApplicationDetail: this.detailOf(moving), OperationId: operation.id };
    });
  }

  // ---- snapshots ----------------------------------------------------------------------------

  private async createSnapshot(input: sdk.CreateApplicationSnapshotRequest): Promise<sdk.CreateApplicationSnapshotResponse> {
    const name = checkApplicationName(input.ApplicationName);
    const { name: snapshotName, catalogName } = checkSnapshotName(name, input.SnapshotName);
    const snapshot = await this.locked(name, async () => {
      const record = await this.record(name);
      if (record.status !== 'RUNNING' && record.status !== 'ROLLED_BACK') throw new ResourceInUseException(`application ${name} is ${record.status}; only a RUNNING application takes a snapshot`);
      if (!record.config.snapshotsEnabled) throw new InvalidApplicationConfigurationException(`application ${name}: ApplicationSnapshotConfiguration.SnapshotsEnabled is false`);
      if ((await this.options.ha.get(snapshotKey(name, snapshotName))) !== undefined) throw new ResourceInUseException(`SnapshotName: application ${name} has a snapshot named ${snapshotName} already`);
      const created: ApplicationSnapshot = { application: name, name: snapshotName, status: 'CREATING', versionId: record.versionId, createdAtMs: this.options.clock.now(), catalogName };
      await this.putSnapshot(created);
      return { created, jobId: record.jobId! };
    });
    // Taken outside the lock: a snapshot of a large state takes a while, and the application goes on meanwhile.
    this.options.jobs
      .snapshot(snapshot.jobId, catalogName)
      .then(
        () => this.putSnapshot({ ...snapshot.created, status: 'READY' }),
        (error: unknown) => {
          this.log.warn('an application snapshot failed', { application: name, snapshot: snapshotName, error: errorChainMessage(error) });
          return this.putSnapshot({ ...snapshot.created, status: 'FAILED' });
        },
      )
      .catch((error: unknown) => this.log.error('recording an application snapshot failed', { application: name, snapshot: snapshotName, error: errorChainMessage(error) }));
    return {};
  }

  private async deleteSnapshot(input: sdk.DeleteApplicationSnapshotRequest): Promise<sdk.DeleteApplicationSnapshotResponse> {
    const name = checkApplicationName(input.ApplicationName);
    return this.locked(name, async () => {
      const snapshot = await this.snapshot(name, input.SnapshotName);
      const created = input.SnapshotCreationTimestamp instanceof Date ? input.SnapshotCreationTimestamp.getTime() : undefined;
      if (created === undefined || Math.floor(created / 1000) !== Math.floor(snapshot.createdAtMs / 1000)) {
        throw new InvalidArgumentException(`SnapshotCreationTimestamp: must be the snapshot's creation time (${new Date(snapshot.createdAtMs).toISOString()})`);
      }
      if (snapshot.status === 'CREATING') throw new ResourceInUseException(`snapshot ${snapshot.name} of application ${name} is being created`);
      await this.putSnapshot({ ...snapshot, status: 'DELETING' });
      if (await this.options.jobs.hasSnapshot(snapshot.catalogName)) await this.options.jobs.deleteSnapshot(snapshot.catalogName);
      await this.fenced(() => this.options.ha.deleteFenced(this.options.leadership, snapshotKey(name, snapshot.name)));
      return {};
    });
  }

  private async latestSnapshot(name: string): Promise<ApplicationSnapshot | undefined> {
    return (await this.snapshots(name)).filter((s) => s.status === 'READY').sort((a, b) => b.createdAtMs - a.createdAtMs || b.name.localeCompare(a.name))[0];
  }

  // ---- operations ---------------------------------------------------------------------------

  private async newOperation(record: ApplicationRecord, type: string, request: OperationRequest, versions: { versionFrom?: number; versionTo?: number }): Promise<ApplicationOperation> {
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
    await this.putOperation(operation);
    this.log.info('application operation started', { application: record.name, operation: operation.id, type });
    return operation;
  }

  /** Runs an operation to its end in the background; its outcome is in its record. */
  private run(operation: ApplicationOperation): void {
    this.execute(operation).catch((error: unknown) => {
      if (error instanceof FencedError || this.disposed) return;
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
    }
  }

  private async runStart(operation: ApplicationOperation, request: Extract<OperationRequest, { kind: 'start' }>): Promise<void> {
    const name = operation.application;
    try {
      const record = await this.record(name);
      const snapshot = request.snapshotName === undefined ? undefined : await this.snapshot(name, request.snapshotName);
      const jobId = await this.startJob(operation, record, snapshot?.catalogName, request.allowNonRestoredState, 'job');
      await this.finish(operation, 'RUNNING', { jobId });
    } catch (error) {
      await this.fail(operation, error, 'READY');
    }
  }

  private async runStop(operation: ApplicationOperation, force: boolean): Promise<void> {
    const name = operation.application;
    try {
      const record = await this.record(name);
      const job = record.jobId === undefined ? undefined : this.options.jobs.job(record.jobId);
      if (job !== undefined && record.jobId !== undefined && !['finished', 'cancelled', 'stopped', 'failed'].includes(job.state)) {
        if (force || !record.config.snapshotsEnabled || job.state !== 'running') {
          await this.options.jobs.cancel(record.jobId);
        } else {
          const snapshotName = `stop-${operation.id}`;
          await this.stopJobWithSnapshot(operation, record, snapshotName, record.versionId);
        }
      }
      await this.finish(operation, 'READY', { jobId: undefined });
    } catch (error) {
      // The job runs on: the application is as it was.
      await this.fail(operation, error, 'RUNNING');
    }
  }

  /**
   * An update or a rollback of a running application: the old job stops with a snapshot, the new
   * version starts from it. A new version that does not start is rolled back to the old one from
   * the same snapshot when system rollback is enabled (ROLLED_BACK).
   */
  private async runReplace(operation: ApplicationOperation, request: Extract<OperationRequest, { kind: 'update' | 'rollback' }>): Promise<void> {
    const name = operation.application;
    const record = await this.record(name);
    const previous = (await this.versions(name)).filter((v) => v.versionId < request.toVersion).sort((a, b) => b.versionId - a.versionId)[0];
    const snapshotName = `${request.kind}-${operation.id}`;
    let snapshot: ApplicationSnapshot;
    try {
      snapshot = await this.stopJobWithSnapshot(operation, record, snapshotName, operation.versionFrom ?? record.versionId);
    } catch (error) {
      // The old version never stopped: it runs on at the old version.
      await this.fail(operation, error, 'RUNNING', previous ? { config: previous.config, versionId: previous.versionId } : {});
      return;
    }
    try {
      const jobId = await this.startJob(operation, record, snapshot.catalogName, false, 'job');
      await this.finish(operation, 'RUNNING', { jobId });
    } catch (error) {
      if (!record.config.rollbackEnabled && !previous?.config.rollbackEnabled) {
        await this.fail(operation, error, 'READY', { jobId: undefined });
        return;
      }
      this.log.warn('the new version did not start: rolling back to the previous one', { application: name, operation: operation.id, error: errorChainMessage(error) });
      try {
        await this.updateRecord(name, (r) => this.moved(r, 'ROLLING_BACK'));
        const old = previous!;
        const jobId = await this.startJob(operation, { ...record, config: old.config }, snapshot.catalogName, false, 'rollback-job');
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
    await this.updateRecord(record.name, (r) => ({ ...r, jobId }));
    await this.waitForJob(jobId, 'running');
    return jobId;
  }

  /** Stops the record's job with a snapshot kept as the application's `snapshotName` (skipped when a resumed operation already did). */
  private async stopJobWithSnapshot(operation: ApplicationOperation, record: ApplicationRecord, snapshotName: string, versionId: number): Promise<ApplicationSnapshot> {
    const { catalogName } = checkSnapshotName(record.name, snapshotName);
    const snapshot: ApplicationSnapshot = { application: record.name, name: snapshotName, status: 'CREATING', versionId, createdAtMs: this.options.clock.now(), catalogName };
    if (!(await this.options.jobs.hasSnapshot(catalogName))) {
      if (record.jobId === undefined) throw new Error(`application ${record.name} has no job to stop`);
      await this.putSnapshot(snapshot);
      await this.options.jobs.stop(record.jobId, catalogName);
    }
    const ready = { ...snapshot, status: 'READY' as const };
    await this.putSnapshot(ready);
    await this.step(operation, `stopped with snapshot ${snapshotName}`);
    return ready;
  }

  private async waitForJob(jobId: string, state: 'running'): Promise<void> {
    const deadline = this.options.clock.now() + (this.options.startTimeoutMs ?? 300_000);
    for (;;) {
      if (this.disposed) throw new Error('this coordinator is no longer the leader');
      const job = this.options.jobs.job(jobId);
      if (job?.state === state) return;
      if (job && ['failed', 'cancelled', 'finished', 'stopped'].includes(job.state)) throw new Error(`job ${jobId} is ${job.state}${job.failure ? `: ${job.failure}` : ''}`);
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
  private async validate(name: string, config: ApplicationConfig, restoreFrom: string | undefined): Promise<void> {
    try {
      await this.options.jobs.validate(this.jobRequestOf(name, config, restoreFrom, false));
    } catch (error) {
      throw new InvalidApplicationConfigurationException(`application ${name}: the new version is refused and the running one goes on: ${errorChainMessage(error)}`, { cause: error });
    }
  }

  private async step(operation: ApplicationOperation, step: string): Promise<void> {
    const current = (await this.operation(operation.application, operation.id)) ?? operation;
    await this.putOperation({ ...current, steps: [...current.steps, step] });
    this.log.info('application operation step recorded', { application: operation.application, operation: operation.id, type: operation.type, step });
  }

  private async finish(operation: ApplicationOperation, status: ApplicationStatus, changes: Partial<ApplicationRecord>): Promise<void> {
    await this.updateRecord(operation.application, (r) => ({ ...this.moved({ ...r, ...changes }, status), operationId: undefined }));
    await this.endOperation(operation.application, operation.id, 'SUCCESSFUL');
  }

  private async fail(operation: ApplicationOperation, error: unknown, status: ApplicationStatus, changes: Partial<ApplicationRecord> = {}): Promise<void> {
    if (error instanceof FencedError) throw error;
    const failure = errorChainMessage(error);
    this.log.warn('application operation failed', { application: operation.application, operation: operation.id, type: operation.type, status, error: failure });
    await this.updateRecord(operation.application, (r) => ({ ...this.moved({ ...r, ...changes }, status), operationId: undefined }));
    await this.endOperation(operation.application, operation.id, 'FAILED', failure);
  }

  private async endOperation(name: string, id: string, status: 'SUCCESSFUL' | 'FAILED' | 'CANCELLED', failure?: string): Promise<void> {
    const operation = await this.operation(name, id);
    if (!operation || operation.status !== 'IN_PROGRESS') return;
    await this.putOperation({ ...operation, status, endedAtMs: this.options.clock.now(), ...(failure === undefined ? {} : { failure }) });
    this.log.info('application operation ended', { application: name, operation: id, type: operation.type, status, ...(failure === undefined ? {} : { failure }) });
  }

  // ---- the store ----------------------------------------------------------------------------

  /** A record with a new status, checked against the table. */
  private moved(record: ApplicationRecord, to: ApplicationStatus): ApplicationRecord {
    if (record.status === to) return record;
    checkApplicationTransition(record.name, record.status, to);
    this.log.info('application status changed', { application: record.name, from: record.status, to });
    return { ...record, status: to, updatedAtMs: this.options.clock.now() };
  }

  private checkVersion(record: ApplicationRecord, current: number | undefined, conditionalToken: string | undefined): void {
    if (current === undefined && conditionalToken === undefined) throw new InvalidArgumentException('CurrentApplicationVersionId: required (or ConditionalToken)');
    if (current !== undefined && current !== record.versionId) {
      throw new ConcurrentModificationException(`CurrentApplicationVersionId: application ${record.name} is at version ${record.versionId}, not ${current}; describe it and try again`);
    }
    if (conditionalToken !== undefined && conditionalToken !== conditionalTokenOf(record)) {
      throw new ConcurrentModificationException(`ConditionalToken: application ${record.name} changed since that token was read; describe it and try again`);
    }
  }

  private detailOf(record: ApplicationRecord): sdk.ApplicationDetail {
    const job = record.jobId === undefined ? undefined : this.options.jobs.job(record.jobId);
    return { ...applicationDetailOf(record, job?.parallelism), ConditionalToken: conditionalTokenOf(record) };
  }

  private async record(name: string): Promise<ApplicationRecord> {
    const value = await this.options.ha.get(applicationKey(name));
    if (value === undefined) throw new ResourceNotFoundException(`ApplicationName: no application named ${name}`);
    return JSON.parse(value) as ApplicationRecord;
  }

  private async recordOfArn(arn: unknown): Promise<ApplicationRecord> {
    const match = typeof arn === 'string' ? /^arn:aws[a-z-]*:kinesisanalytics:[^:]*:[^:]*:application\/(.+)$/.exec(arn) : null;
    if (!match) throw new InvalidArgumentException(`ResourceARN: an application ARN (arn:aws:kinesisanalytics:<region>:<account>:application/<name>), got ${JSON.stringify(arn)}`);
    const record = await this.record(checkApplicationName(match[1], 'ResourceARN'));
    if (record.arn !== arn) throw new ResourceNotFoundException(`ResourceARN: no application with ARN ${arn}`);
    return record;
  }

  private async tag(arn: unknown, change: (tags: Record<string, string>) => void): Promise<Record<string, never>> {
    const name = (await this.recordOfArn(arn)).name;
    await this.locked(name, async () => {
      const record = await this.record(name);
      const tags = { ...record.tags };
      change(tags);
      if (Object.keys(tags).length > MAX_TAGS) throw new TooManyTagsException(`Tags: an application has at most ${MAX_TAGS} tags`);
      await this.putRecord({ ...record, tags });
    });
    return {};
  }

  private async records(): Promise<ApplicationRecord[]> {
    return [...(await this.options.ha.getPrefix(APPLICATION_KEY_PREFIX)).values()].map((v) => JSON.parse(v) as ApplicationRecord);
  }

  private async versions(name: string): Promise<ApplicationVersion[]> {
    return [...(await this.options.ha.getPrefix(versionPrefix(name))).values()].map((v) => JSON.parse(v) as ApplicationVersion);
  }

  private async operations(name: string): Promise<ApplicationOperation[]> {
    return [...(await this.options.ha.getPrefix(operationPrefix(name))).values()].map((v) => JSON.parse(v) as ApplicationOperation);
  }

  private async operation(name: string, id: string): Promise<ApplicationOperation | undefined> {
    const value = await this.options.ha.get(operationKey(name, id));
    return value === undefined ? undefined : (JSON.parse(value) as ApplicationOperation);
  }

  private async snapshots(name: string): Promise<ApplicationSnapshot[]> {
    return [...(await this.options.ha.getPrefix(snapshotPrefix(name))).values()].map((v) => JSON.parse(v) as ApplicationSnapshot);
  }

  private async snapshot(name: string, snapshotName: unknown): Promise<ApplicationSnapshot> {
    await this.record(name);
    const value = typeof snapshotName === 'string' ? await this.options.ha.get(snapshotKey(name, snapshotName)) : undefined;
    if (value === undefined) throw new ResourceNotFoundException(`SnapshotName: application ${name} has no snapshot named ${JSON.stringify(snapshotName)}`);
    return JSON.parse(value) as ApplicationSnapshot;
  }

  private async updateRecord(name: string, change: (record: ApplicationRecord) => ApplicationRecord): Promise<void> {
    await this.locked(name, async () => this.putRecord(change(await this.record(name))));
  }

  private putRecord(record: ApplicationRecord): Promise<void> {
    return this.put(applicationKey(record.name), record);
  }

  private putVersion(version: ApplicationVersion): Promise<void> {
    return this.put(versionKey(version.application, version.versionId), version);
  }

  private putOperation(operation: ApplicationOperation): Promise<void> {
    return this.put(operationKey(operation.application, operation.id), operation);
  }

  private putSnapshot(snapshot: ApplicationSnapshot): Promise<void> {
    return this.put(snapshotKey(snapshot.application, snapshot.name), snapshot);
  }

  private put(key: string, value: object): Promise<void> {
    return this.fenced(() => this.options.ha.putFenced(this.options.leadership, key, JSON.stringify(value)));
  }

  private async fenced<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof FencedError) {
        this.disposed = true;
        this.options.onFenced(error);
      }
      throw error;
    }
  }

  /** Runs `action` after every earlier one on the same application. */
  private locked<T>(name: string, action: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(action);
    this.locks.set(name, next);
    next.finally(() => {
      if (this.locks.get(name) === next) this.locks.delete(name);
    }).catch(() => {});
    return next;
  }
}

function snapshotDetailsOf(snapshot: ApplicationSnapshot): sdk.SnapshotDetails {
  return {
    SnapshotName: snapshot.name,
    SnapshotStatus: snapshot.status,
    ApplicationVersionId: snapshot.versionId,
    SnapshotCreationTimestamp: new Date(snapshot.createdAtMs),
    RuntimeEnvironment: SLUICE_RUNTIME_ENVIRONMENT as sdk.RuntimeEnvironment,
  };
}

/** Changes whenever the record does (version, status, time): UpdateApplication's optimistic token. */
function conditionalTokenOf(record: ApplicationRecord): string {
  return Buffer.from(`${record.versionId}:${record.updatedAtMs}:${record.status}`).toString('base64url');
}

function tagsOf(tags: readonly sdk.Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (typeof tag.Key !== 'string' || tag.Key === '' || tag.Key.length > 128) throw new InvalidArgumentException(`Tags: a key is 1 to 128 characters, got ${JSON.stringify(tag.Key)}`);
    out[tag.Key] = tag.Value ?? '';
  }
  if (Object.keys(out).length > MAX_TAGS) throw new TooManyTagsException(`Tags: an application has at most ${MAX_TAGS} tags`);
  return out;
}

/** A page of `items` after the token (an index), and the token of the next page. */
function paginate<T>(items: readonly T[], token: string | undefined, limit: number | undefined, defaultLimit: number): { items: T[]; next: string | undefined } {
  const start = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(start) || start < 0) throw new InvalidArgumentException(`NextToken: not a token this service gave, got ${JSON.stringify(token)}`);
  const size = limit ?? defaultLimit;
  if (!Number.isInteger(size) || size < 1 || size > 50) throw new InvalidArgumentException(`Limit: an integer in [1, 50], got ${JSON.stringify(limit)}`);
  const page = items.slice(start, start + size);
  return { items: page, next: start + size < items.length ? String(start + size) : undefined };
}
