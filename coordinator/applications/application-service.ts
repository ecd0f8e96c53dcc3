// The managed service's applications (Amazon Managed Service for Apache Flink's shape) behind the
// kinesisanalyticsv2 operations: each request checked (every error names its field or resource),
// the application's record changed in its store (application-store.ts), and a lifecycle action
// answered at once with an operation id while the operation runs on (application-operations.ts),
// resumed by a new leader if this one goes. What runs an application is a job (ApplicationJobs).

import type * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { codeLocationUrl } from '../../shared/application-code/code-location.ts';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';
import type { KinesisAnalyticsOperationHandlers } from './api-handler.ts';
import type { ApplicationJobs } from './application-jobs.ts';
import {
  applicationArn,
  applicationDetailOf,
  applicationKey,
  checkApplicationName,
  checkSnapshotName,
  compileCreateConfig,
  compileUpdatedConfig,
  operationPrefix,
  snapshotKey,
  SLUICE_RUNTIME_ENVIRONMENT,
  versionPrefix,
  type ApplicationRecord,
  type ApplicationSnapshot,
  type OperationRequest,
} from './application-model.ts';
import { ApplicationAutoscaling, autoscalingSettingsOf } from './application-autoscaling.ts';
import { ApplicationOperations } from './application-operations.ts';
import { isApplicationActive, type ApplicationStatus } from './application-states.ts';
import { ApplicationStore } from './application-store.ts';
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
  /** How often the autoscaler samples each application with AutoScalingEnabled. Default 5 s. */
  readonly autoscalingIntervalMs?: number;
}

const MAX_TAGS = 50;

export class ApplicationService {
  private readonly log: Logger;
  private readonly store: ApplicationStore;
  private readonly operationRunner: ApplicationOperations;
  readonly autoscaling: ApplicationAutoscaling;

  constructor(private readonly options: ApplicationServiceOptions) {
    this.log = options.logger.child({ component: 'applications' });
    this.store = new ApplicationStore({ ha: options.ha, leadership: options.leadership, clock: options.clock, log: this.log, onFenced: options.onFenced });
    this.operationRunner = new ApplicationOperations({
      store: this.store,
      jobs: options.jobs,
      clock: options.clock,
      log: this.log,
      ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
    });
    this.autoscaling = new ApplicationAutoscaling({
      store: this.store,
      jobs: options.jobs,
      operations: this.operationRunner,
      clock: options.clock,
      log: this.log,
      ...(options.autoscalingIntervalMs === undefined ? {} : { intervalMs: options.autoscalingIntervalMs }),
    });
  }

  /**
   * A new leader: resumes every operation its predecessor left in progress. One it recorded but
   * did not get to name in the application's record did nothing yet (its caller had no answer):
   * it fails, and the caller's retry starts it afresh.
   */
  async start(): Promise<void> {
    for (const record of await this.store.records()) {
      // A snapshot the old leader was still copying: there if the copy finished, else lost.
      for (const snapshot of await this.store.snapshots(record.name)) {
        if (snapshot.status !== 'CREATING') continue;
        const copied = await this.options.jobs.hasSnapshot(snapshot.catalogName);
        await this.store.putSnapshot({ ...snapshot, status: copied ? 'READY' : 'FAILED' });
      }
      for (const operation of await this.store.operations(record.name)) {
        if (operation.status !== 'IN_PROGRESS' || operation.id === record.operationId) continue;
        await this.operationRunner.endOperation(record.name, operation.id, 'FAILED', 'the leader changed before the operation began; nothing was done');
      }
      if (record.operationId === undefined) continue;
      const operation = await this.store.operation(record.name, record.operationId);
      if (operation?.status !== 'IN_PROGRESS') continue;
      this.log.info('resuming an operation the previous leader left in progress', { application: record.name, operation: operation.id, type: operation.type, steps: operation.steps });
      this.operationRunner.run(operation);
    }
    this.autoscaling.start();
  }

  dispose(): void {
    this.autoscaling.dispose();
    this.operationRunner.dispose();
  }

  readonly handlers: KinesisAnalyticsOperationHandlers = {
    CreateApplication: (input) => this.createApplication(input),
    DescribeApplication: async (input) => ({ ApplicationDetail: this.detailOf(await this.store.record(checkApplicationName(input.ApplicationName))) }),
    ListApplications: async (input) => {
      const records = (await this.store.records()).sort((a, b) => a.name.localeCompare(b.name));
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
      await this.store.record(name);
      const snapshots = (await this.store.snapshots(name)).sort((a, b) => b.createdAtMs - a.createdAtMs);
      const page = paginate(snapshots, input.NextToken, input.Limit, 50);
      return { SnapshotSummaries: page.items.map(snapshotDetailsOf), ...(page.next === undefined ? {} : { NextToken: page.next }) };
    },
    DescribeApplicationSnapshot: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      return { SnapshotDetails: snapshotDetailsOf(await this.store.snapshot(name, input.SnapshotName)) };
    },
    DeleteApplicationSnapshot: (input) => this.deleteSnapshot(input),
    ListApplicationVersions: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      const record = await this.store.record(name);
      const versions = (await this.store.versions(name)).sort((a, b) => b.versionId - a.versionId);
      const page = paginate(versions, input.NextToken, input.Limit, 50);
      return {
        ApplicationVersionSummaries: page.items.map((v) => ({ ApplicationVersionId: v.versionId, ApplicationStatus: (v.versionId === record.versionId ? record.status : 'READY') as sdk.ApplicationStatus })),
        ...(page.next === undefined ? {} : { NextToken: page.next }),
      };
    },
    DescribeApplicationVersion: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      const record = await this.store.record(name);
      const version = (await this.store.versions(name)).find((v) => v.versionId === input.ApplicationVersionId);
      if (!version) throw new ResourceNotFoundException(`ApplicationVersionId: application ${name} has no version ${JSON.stringify(input.ApplicationVersionId)}`);
      const status = version.versionId === record.versionId ? record.status : 'READY';
      return { ApplicationVersionDetail: applicationDetailOf({ ...record, versionId: version.versionId, config: version.config, status }, undefined) };
    },
    ListApplicationOperations: async (input) => {
      const name = checkApplicationName(input.ApplicationName);
      await this.store.record(name);
      const operations = (await this.store.operations(name))
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
      await this.store.record(name);
      const operation = typeof input.OperationId === 'string' ? await this.store.operation(name, input.OperationId) : undefined;
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
    autoscalingSettingsOf(config);
    const tags = tagsOf(input.Tags);
    return this.store.locked(name, async () => {
      if (await this.store.exists(name)) throw new ResourceInUseException(`ApplicationName: an application named ${name} exists already`);
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
      await this.store.putVersion({ application: name, versionId: 1, config, createdAtMs: now });
      await this.store.putRecord(record);
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
    return this.store.locked(name, async () => {
      const record = await this.store.record(name);
      this.checkVersion(record, input.CurrentApplicationVersionId, input.ConditionalToken);
      if (record.status !== 'READY' && record.status !== 'RUNNING' && record.status !== 'ROLLED_BACK') {
        throw new ResourceInUseException(`application ${name} is ${record.status}; it is updated when READY or RUNNING`);
      }
      const config = compileUpdatedConfig(record.config, input.ApplicationConfigurationUpdate);
      autoscalingSettingsOf(config);
      const versionId = record.versionId + 1;
      const now = this.options.clock.now();
      if (!isApplicationActive(record.status)) {
        await this.store.putVersion({ application: name, versionId, config, createdAtMs: now });
        const updated: ApplicationRecord = { ...record, config, versionId, updatedAtMs: now, versionUpdatedFrom: record.versionId };
        await this.store.putRecord(updated);
        this.log.info('application updated', { application: name, from: record.versionId, to: versionId });
        return { ApplicationDetail: this.detailOf(updated) };
      }
      // A running application: the new version is checked while the old one runs; only then it is replaced.
      const latest = await this.latestSnapshot(name);
      await this.operationRunner.validate(name, config, latest?.catalogName);
      await this.store.putVersion({ application: name, versionId, config, createdAtMs: now });
      const operation = await this.operationRunner.newOperation(record, 'UpdateApplication', { kind: 'update', toVersion: versionId }, { versionFrom: record.versionId, versionTo: versionId });
      const updated: ApplicationRecord = { ...record, config, versionId, updatedAtMs: now, versionUpdatedFrom: record.versionId, operationId: operation.id };
      await this.store.putRecord(this.store.moved(updated, 'UPDATING'));
      this.operationRunner.run(operation);
      return { ApplicationDetail: this.detailOf(this.store.moved(updated, 'UPDATING')), OperationId: operation.id };
    });
  }

  private async deleteApplication(input: sdk.DeleteApplicationRequest): Promise<sdk.DeleteApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    return this.store.locked(name, async () => {
      const record = await this.store.record(name);
      const created = input.CreateTimestamp instanceof Date ? input.CreateTimestamp.getTime() : undefined;
      if (created === undefined || Math.floor(created / 1000) !== Math.floor(record.createdAtMs / 1000)) {
        throw new InvalidArgumentException(`CreateTimestamp: must be the application's creation time (${new Date(record.createdAtMs).toISOString()})`);
      }
      if (record.operationId !== undefined && !['RUNNING', 'READY', 'ROLLED_BACK'].includes(record.status)) {
        throw new ResourceInUseException(`application ${name} is ${record.status} (operation ${record.operationId}); delete it when that is done`);
      }
      await this.store.putRecord(this.store.moved(record, 'DELETING'));
      if (record.jobId !== undefined && this.options.jobs.job(record.jobId) !== undefined) await this.options.jobs.cancel(record.jobId);
      for (const snapshot of await this.store.snapshots(name)) {
        if (await this.options.jobs.hasSnapshot(snapshot.catalogName)) await this.options.jobs.deleteSnapshot(snapshot.catalogName);
        await this.store.delete(snapshotKey(name, snapshot.name));
      }
      for (const prefix of [versionPrefix(name), operationPrefix(name)]) {
        for (const key of await this.store.keys(prefix)) await this.store.delete(key);
      }
      await this.store.delete(applicationKey(name));
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
    return this.store.locked(name, async () => {
      const record = await this.store.record(name);
      if (record.status !== 'READY') throw new ResourceInUseException(`application ${name} is ${record.status}; only a READY application starts`);
      let snapshotName: string | undefined;
      if (restore === 'RESTORE_FROM_CUSTOM_SNAPSHOT') {
        if (restoreConfig?.SnapshotName === undefined) throw new InvalidArgumentException('RunConfiguration.ApplicationRestoreConfiguration.SnapshotName: required with RESTORE_FROM_CUSTOM_SNAPSHOT');
        const snapshot = await this.store.snapshot(name, restoreConfig.SnapshotName);
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
      const operation = await this.operationRunner.newOperation(record, 'StartApplication', request, {});
      await this.store.putRecord(this.store.moved({ ...record, operationId: operation.id }, 'STARTING'));
      this.operationRunner.run(operation);
      return { OperationId: operation.id };
    });
  }

  private async stopApplication(input: sdk.StopApplicationRequest): Promise<sdk.StopApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    const force = input.Force === true;
    return this.store.locked(name, async () => {
      const record = await this.store.record(name);
      const stoppable: ApplicationStatus[] = force ? ['STARTING', 'RUNNING', 'UPDATING', 'AUTOSCALING', 'STOPPING', 'ROLLING_BACK', 'ROLLED_BACK'] : ['RUNNING', 'ROLLED_BACK'];
      if (!stoppable.includes(record.status)) throw new ResourceInUseException(`application ${name} is ${record.status}; ${force ? 'nothing to stop' : 'only a RUNNING application stops (Force stops one in another status)'}`);
      if (force && record.operationId !== undefined) await this.operationRunner.endOperation(name, record.operationId, 'CANCELLED', 'stopped with Force');
      const operation = await this.operationRunner.newOperation(record, force ? 'ForceStopApplication' : 'StopApplication', { kind: 'stop', force }, {});
      await this.store.putRecord(this.store.moved({ ...record, operationId: operation.id }, force ? 'FORCE_STOPPING' : 'STOPPING'));
      this.operationRunner.run(operation);
      return { OperationId: operation.id };
    });
  }

  private async rollbackApplication(input: sdk.RollbackApplicationRequest): Promise<sdk.RollbackApplicationResponse> {
    const name = checkApplicationName(input.ApplicationName);
    return this.store.locked(name, async () => {
      const record = await this.store.record(name);
      this.checkVersion(record, input.CurrentApplicationVersionId, undefined);
      if (!['READY', 'RUNNING', 'ROLLED_BACK'].includes(record.status)) throw new ResourceInUseException(`application ${name} is ${record.status}; it is rolled back when READY or RUNNING`);
      const target = (await this.store.versions(name)).filter((v) => v.versionId < record.versionId).sort((a, b) => b.versionId - a.versionId)[0];
      if (!target) throw new InvalidArgumentException(`CurrentApplicationVersionId: application ${name} has no version before ${record.versionId} to roll back to`);
      const versionId = record.versionId + 1;
      const now = this.options.clock.now();
      await this.store.putVersion({ application: name, versionId, config: target.config, createdAtMs: now });
      const rolled: ApplicationRecord = { ...record, config: target.config, versionId, updatedAtMs: now, versionRolledBackFrom: record.versionId, versionRolledBackTo: target.versionId };
      if (!isApplicationActive(record.status)) {
        await this.store.putRecord(rolled);
        return { ApplicationDetail: this.detailOf(rolled) };
      }
      const operation = await this.operationRunner.newOperation(record, 'RollbackApplication', { kind: 'rollback', toVersion: versionId, system: false }, { versionFrom: record.versionId, versionTo: target.versionId });
      const moving = this.store.moved({ ...rolled, operationId: operation.id }, 'ROLLING_BACK');
      await this.store.putRecord(moving);
      this.operationRunner.run(operation);
      return { ApplicationDetail: this.detailOf(moving), OperationId: operation.id };
    });
  }

  // ---- snapshots ----------------------------------------------------------------------------

  private async createSnapshot(input: sdk.CreateApplicationSnapshotRequest): Promise<sdk.CreateApplicationSnapshotResponse> {
    const name = checkApplicationName(input.ApplicationName);
    const { name: snapshotName, catalogName } = checkSnapshotName(name, input.SnapshotName);
    const snapshot = await this.store.locked(name, async () => {
      const record = await this.store.record(name);
      if (record.status !== 'RUNNING' && record.status !== 'ROLLED_BACK') throw new ResourceInUseException(`application ${name} is ${record.status}; only a RUNNING application takes a snapshot`);
      if (!record.config.snapshotsEnabled) throw new InvalidApplicationConfigurationException(`application ${name}: ApplicationSnapshotConfiguration.SnapshotsEnabled is false`);
      if (await this.store.hasSnapshot(name, snapshotName)) throw new ResourceInUseException(`SnapshotName: application ${name} has a snapshot named ${snapshotName} already`);
      const created: ApplicationSnapshot = { application: name, name: snapshotName, status: 'CREATING', versionId: record.versionId, createdAtMs: this.options.clock.now(), catalogName };
      await this.store.putSnapshot(created);
      return { created, jobId: record.jobId! };
    });
    // Taken outside the lock: a snapshot of a large state takes a while, and the application goes on meanwhile.
    this.options.jobs
      .snapshot(snapshot.jobId, catalogName)
      .then(
        () => this.store.putSnapshot({ ...snapshot.created, status: 'READY' }),
        (error: unknown) => {
          this.log.warn('an application snapshot failed', { application: name, snapshot: snapshotName, error: errorChainMessage(error) });
          return this.store.putSnapshot({ ...snapshot.created, status: 'FAILED' });
        },
      )
      .catch((error: unknown) => this.log.error('recording an application snapshot failed', { application: name, snapshot: snapshotName, error: errorChainMessage(error) }));
    return {};
  }

  private async deleteSnapshot(input: sdk.DeleteApplicationSnapshotRequest): Promise<sdk.DeleteApplicationSnapshotResponse> {
    const name = checkApplicationName(input.ApplicationName);
    return this.store.locked(name, async () => {
      const snapshot = await this.store.snapshot(name, input.SnapshotName);
      const created = input.SnapshotCreationTimestamp instanceof Date ? input.SnapshotCreationTimestamp.getTime() : undefined;
      if (created === undefined || Math.floor(created / 1000) !== Math.floor(snapshot.createdAtMs / 1000)) {
        throw new InvalidArgumentException(`SnapshotCreationTimestamp: must be the snapshot's creation time (${new Date(snapshot.createdAtMs).toISOString()})`);
      }
      if (snapshot.status === 'CREATING') throw new ResourceInUseException(`snapshot ${snapshot.name} of application ${name} is being created`);
      await this.store.putSnapshot({ ...snapshot, status: 'DELETING' });
      if (await this.options.jobs.hasSnapshot(snapshot.catalogName)) await this.options.jobs.deleteSnapshot(snapshot.catalogName);
      await this.store.delete(snapshotKey(name, snapshot.name));
      return {};
    });
  }

  private async latestSnapshot(name: string): Promise<ApplicationSnapshot | undefined> {
    return (await this.store.snapshots(name)).filter((s) => s.status === 'READY').sort((a, b) => b.createdAtMs - a.createdAtMs || b.name.localeCompare(a.name))[0];
  }

  // ---- records ---------------------------------------------------------------------------

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


  private async recordOfArn(arn: unknown): Promise<ApplicationRecord> {
    const match = typeof arn === 'string' ? /^arn:aws[a-z-]*:kinesisanalytics:[^:]*:[^:]*:application\/(.+)$/.exec(arn) : null;
    if (!match) throw new InvalidArgumentException(`ResourceARN: an application ARN (arn:aws:kinesisanalytics:<region>:<account>:application/<name>), got ${JSON.stringify(arn)}`);
    const record = await this.store.record(checkApplicationName(match[1], 'ResourceARN'));
    if (record.arn !== arn) throw new ResourceNotFoundException(`ResourceARN: no application with ARN ${arn}`);
    return record;
  }

  private async tag(arn: unknown, change: (tags: Record<string, string>) => void): Promise<Record<string, never>> {
    const name = (await this.recordOfArn(arn)).name;
    await this.store.locked(name, async () => {
      const record = await this.store.record(name);
      const tags = { ...record.tags };
      change(tags);
      if (Object.keys(tags).length > MAX_TAGS) throw new TooManyTagsException(`Tags: an application has at most ${MAX_TAGS} tags`);
      await this.store.putRecord({ ...record, tags });
    });
    return {};
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
