// An application as the service keeps it: its configuration compiled from the API's input
// (checked field by field, each error naming the field), its versions, its operations and its
// snapshots, and the conversions back to the API's shapes. The HA store holds one record per
// application (`application/<name>`), one per version, one per operation and one per snapshot.

import type * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import type { ApplicationStatus } from './application-states.ts';
import { InvalidArgumentException, InvalidApplicationConfigurationException } from './kinesis-analytics-errors.ts';

export const SLUICE_RUNTIME_ENVIRONMENT = 'SLUICE-1';

/** Managed Flink's defaults for CheckpointConfiguration DEFAULT and ParallelismConfiguration DEFAULT. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
export const DEFAULT_MIN_PAUSE_BETWEEN_CHECKPOINTS_MS = 5_000;
export const DEFAULT_PARALLELISM = 1;
export const DEFAULT_PARALLELISM_PER_KPU = 1;

export interface ApplicationConfig {
  readonly description: string;
  readonly serviceExecutionRole: string | undefined;
  /** The code: an object in S3 (bucket, key, optional exact version), content type ZIPFILE. */
  readonly code: { readonly bucket: string; readonly key: string; readonly objectVersion?: string };
  readonly propertyGroups: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly checkpointing: { readonly type: 'DEFAULT' | 'CUSTOM'; readonly enabled: boolean; readonly intervalMs: number; readonly minPauseMs: number };
  readonly parallelism: { readonly type: 'DEFAULT' | 'CUSTOM'; readonly parallelism: number; readonly perKpu: number; readonly autoScaling: boolean };
  readonly monitoring: { readonly type: 'DEFAULT' | 'CUSTOM'; readonly logLevel: string; readonly metricsLevel: string };
  readonly snapshotsEnabled: boolean;
  readonly rollbackEnabled: boolean;
  /** Sluice's addition: where keyed state lives (Managed Flink's is RocksDB; ours defaults to LevelDB). */
  readonly stateBackend: 'leveldb' | 'memory';
}

export interface ApplicationRecord {
  readonly name: string;
  readonly arn: string;
  readonly runtime: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly versionId: number;
  readonly status: ApplicationStatus;
  readonly config: ApplicationConfig;
  readonly tags: Readonly<Record<string, string>>;
  /** The job that runs the application while it is active. */
  readonly jobId?: string;
  /** The operation in progress, if any: a new leader resumes it. */
  readonly operationId?: string;
  readonly versionUpdatedFrom?: number;
  readonly versionRolledBackFrom?: number;
  readonly versionRolledBackTo?: number;
}

export type OperationStatus = 'IN_PROGRESS' | 'SUCCESSFUL' | 'FAILED' | 'CANCELLED';

export interface ApplicationOperation {
  readonly id: string;
  readonly application: string;
  /** StartApplication, StopApplication, UpdateApplication, RollbackApplication, ... */
  readonly type: string;
  readonly status: OperationStatus;
  readonly startedAtMs: number;
  readonly endedAtMs?: number;
  readonly versionFrom?: number;
  readonly versionTo?: number;
  readonly failure?: string;
  /** What the operation was asked (its request), so a new leader can resume it. */
  readonly request: OperationRequest;
  /** Steps done so far, in order (a resumed operation skips them). */
  readonly steps: readonly string[];
  /** The snapshot an operation took or restores from. */
  readonly snapshotName?: string;
}

export type OperationRequest =
  | { readonly kind: 'start'; readonly restore: 'SKIP_RESTORE_FROM_SNAPSHOT' | 'RESTORE_FROM_LATEST_SNAPSHOT' | 'RESTORE_FROM_CUSTOM_SNAPSHOT'; readonly snapshotName?: string; readonly allowNonRestoredState: boolean }
  | { readonly kind: 'stop'; readonly force: boolean }
  | { readonly kind: 'update'; readonly toVersion: number }
  | { readonly kind: 'rollback'; readonly toVersion: number; readonly system: boolean }
  /** A change of the running job's parallelism, live where its shape allows: the autoscaler's decision. */
  | { readonly kind: 'rescale'; readonly parallelism: number; readonly reason: string };

export interface ApplicationSnapshot {
  readonly application: string;
  readonly name: string;
  readonly status: 'CREATING' | 'READY' | 'DELETING' | 'FAILED';
  readonly versionId: number;
  readonly createdAtMs: number;
  /** The name in the cluster's snapshot catalog: `<application>--<name>`. */
  readonly catalogName: string;
}

export interface ApplicationVersion {
  readonly application: string;
  readonly versionId: number;
  readonly config: ApplicationConfig;
  readonly createdAtMs: number;
}

export const applicationKey = (name: string) => `application/${name}`;
export const APPLICATION_KEY_PREFIX = 'application/';
export const versionKey = (name: string, versionId: number) => `application-version/${name}/${String(versionId).padStart(10, '0')}`;
export const versionPrefix = (name: string) => `application-version/${name}/`;
export const operationKey = (name: string, id: string) => `application-operation/${name}/${id}`;
export const operationPrefix = (name: string) => `application-operation/${name}/`;
export const snapshotKey = (name: string, snapshot: string) => `application-snapshot/${name}/${snapshot}`;
export const snapshotPrefix = (name: string) => `application-snapshot/${name}/`;

const NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const SNAPSHOT_NAME = /^[a-zA-Z0-9_.-]{1,256}$/;
const CATALOG_NAME_MAX = 128;

export function checkApplicationName(name: unknown, field = 'ApplicationName'): string {
  if (typeof name !== 'string' || !NAME.test(name)) throw new InvalidArgumentException(`${field}: 1 to 128 letters, digits, '_', '.' or '-'; got ${JSON.stringify(name)}`);
  return name;
}

export function checkSnapshotName(application: string, name: unknown, field = 'SnapshotName'): { name: string; catalogName: string } {
  if (typeof name !== 'string' || !SNAPSHOT_NAME.test(name)) throw new InvalidArgumentException(`${field}: 1 to 256 letters, digits, '_', '.' or '-'; got ${JSON.stringify(name)}`);
  const catalogName = `${application}--${name}`;
  if (catalogName.length > CATALOG_NAME_MAX || !/^[A-Za-z0-9]/.test(catalogName)) {
    throw new InvalidArgumentException(`${field}: "${name}" with the application's name is ${catalogName.length} characters; this service keeps at most ${CATALOG_NAME_MAX}`);
  }
  return { name, catalogName };
}

export function applicationArn(region: string, accountId: string, name: string): string {
  return `arn:aws:kinesisanalytics:${region}:${accountId}:application/${name}`;
}

/** The configuration of a new application, from CreateApplication's input. */
export function compileCreateConfig(input: sdk.CreateApplicationRequest): ApplicationConfig {
  const configuration = input.ApplicationConfiguration;
  const codeConfig = configuration?.ApplicationCodeConfiguration;
  if (!codeConfig) throw new InvalidArgumentException('ApplicationConfiguration.ApplicationCodeConfiguration: required (the S3 location of the archive `sluice package` made)');
  if (codeConfig.CodeContentType !== 'ZIPFILE') {
    throw new InvalidArgumentException(`ApplicationConfiguration.ApplicationCodeConfiguration.CodeContentType: must be ZIPFILE, got ${JSON.stringify(codeConfig.CodeContentType)}`);
  }
  const s3 = codeConfig.CodeContent?.S3ContentLocation;
  if (!s3) {
    const other = codeConfig.CodeContent?.ZipFileContent !== undefined ? 'ZipFileContent (inline code) is not supported' : 'required';
    throw new InvalidArgumentException(`ApplicationConfiguration.ApplicationCodeConfiguration.CodeContent.S3ContentLocation: ${other}; upload the archive with \`sluice package --upload\``);
  }
  const flink = configuration?.FlinkApplicationConfiguration;
  return {
    description: checkDescription(input.ApplicationDescription),
    serviceExecutionRole: input.ServiceExecutionRole,
    code: compileCode(s3.BucketARN, s3.FileKey, s3.ObjectVersion, 'ApplicationConfiguration.ApplicationCodeConfiguration.CodeContent.S3ContentLocation'),
    propertyGroups: compilePropertyGroups(configuration?.EnvironmentProperties?.PropertyGroups, 'ApplicationConfiguration.EnvironmentProperties.PropertyGroups'),
    checkpointing: compileCheckpointing(flink?.CheckpointConfiguration, 'ApplicationConfiguration.FlinkApplicationConfiguration.CheckpointConfiguration'),
    parallelism: compileParallelism(flink?.ParallelismConfiguration, 'ApplicationConfiguration.FlinkApplicationConfiguration.ParallelismConfiguration'),
    monitoring: compileMonitoring(flink?.MonitoringConfiguration),
    snapshotsEnabled: configuration?.ApplicationSnapshotConfiguration?.SnapshotsEnabled ?? true,
    rollbackEnabled: configuration?.ApplicationSystemRollbackConfiguration?.RollbackEnabled ?? false,
    stateBackend: stateBackendOf(configuration?.EnvironmentProperties?.PropertyGroups),
  };
}

/** The configuration after UpdateApplication: what the update names changes, the rest stays. */
export function compileUpdatedConfig(current: ApplicationConfig, update: sdk.ApplicationConfigurationUpdate | undefined): ApplicationConfig {
  if (!update) return current;
  let code = current.code;
  const codeUpdate = update.ApplicationCodeConfigurationUpdate;
  if (codeUpdate) {
    if (codeUpdate.CodeContentTypeUpdate !== undefined && codeUpdate.CodeContentTypeUpdate !== 'ZIPFILE') {
      throw new InvalidArgumentException(`ApplicationConfigurationUpdate.ApplicationCodeConfigurationUpdate.CodeContentTypeUpdate: must be ZIPFILE, got ${JSON.stringify(codeUpdate.CodeContentTypeUpdate)}`);
    }
    const s3 = codeUpdate.CodeContentUpdate?.S3ContentLocationUpdate;
    if (codeUpdate.CodeContentUpdate?.ZipFileContentUpdate !== undefined) {
      throw new InvalidArgumentException('ApplicationConfigurationUpdate.ApplicationCodeConfigurationUpdate.CodeContentUpdate.ZipFileContentUpdate: inline code is not supported; give S3ContentLocationUpdate');
    }
    if (s3) {
      const bucketArn = s3.BucketARNUpdate ?? `arn:aws:s3:::${current.code.bucket}`;
      // A new file key without a version means its latest version; the old version no longer applies.
      const version = s3.ObjectVersionUpdate ?? (s3.FileKeyUpdate !== undefined || s3.BucketARNUpdate !== undefined ? undefined : current.code.objectVersion);
      code = compileCode(bucketArn, s3.FileKeyUpdate ?? current.code.key, version, 'ApplicationConfigurationUpdate.ApplicationCodeConfigurationUpdate.CodeContentUpdate.S3ContentLocationUpdate');
    }
  }
  const flink = update.FlinkApplicationConfigurationUpdate;
  const checkpoint = flink?.CheckpointConfigurationUpdate;
  const parallelism = flink?.ParallelismConfigurationUpdate;
  const monitoring = flink?.MonitoringConfigurationUpdate;
  const properties = update.EnvironmentPropertyUpdates?.PropertyGroups;
  return {
    ...current,
    code,
    ...(properties !== undefined
      ? { propertyGroups: compilePropertyGroups(properties, 'ApplicationConfigurationUpdate.EnvironmentPropertyUpdates.PropertyGroups'), stateBackend: stateBackendOf(properties) }
      : {}),
    ...(checkpoint
      ? {
          checkpointing: compileCheckpointing(
            {
              ConfigurationType: checkpoint.ConfigurationTypeUpdate ?? current.checkpointing.type,
              CheckpointingEnabled: checkpoint.CheckpointingEnabledUpdate ?? current.checkpointing.enabled,
              CheckpointInterval: checkpoint.CheckpointIntervalUpdate ?? current.checkpointing.intervalMs,
              MinPauseBetweenCheckpoints: checkpoint.MinPauseBetweenCheckpointsUpdate ?? current.checkpointing.minPauseMs,
            },
            'ApplicationConfigurationUpdate.FlinkApplicationConfigurationUpdate.CheckpointConfigurationUpdate',
          ),
        }
      : {}),
    ...(parallelism
      ? {
          parallelism: compileParallelism(
            {
              ConfigurationType: parallelism.ConfigurationTypeUpdate ?? current.parallelism.type,
              Parallelism: parallelism.ParallelismUpdate ?? current.parallelism.parallelism,
              ParallelismPerKPU: parallelism.ParallelismPerKPUUpdate ?? current.parallelism.perKpu,
              AutoScalingEnabled: parallelism.AutoScalingEnabledUpdate ?? current.parallelism.autoScaling,
            },
            'ApplicationConfigurationUpdate.FlinkApplicationConfigurationUpdate.ParallelismConfigurationUpdate',
          ),
        }
      : {}),
    ...(monitoring
      ? {
          monitoring: compileMonitoring({
            ConfigurationType: monitoring.ConfigurationTypeUpdate ?? current.monitoring.type,
            LogLevel: (monitoring.LogLevelUpdate ?? current.monitoring.logLevel) as sdk.LogLevel,
            MetricsLevel: (monitoring.MetricsLevelUpdate ?? current.monitoring.metricsLevel) as sdk.MetricsLevel,
          }),
        }
      : {}),
    ...(update.ApplicationSnapshotConfigurationUpdate?.SnapshotsEnabledUpdate !== undefined ? { snapshotsEnabled: update.ApplicationSnapshotConfigurationUpdate.SnapshotsEnabledUpdate } : {}),
    ...(update.ApplicationSystemRollbackConfigurationUpdate?.RollbackEnabledUpdate !== undefined
      ? { rollbackEnabled: update.ApplicationSystemRollbackConfigurationUpdate.RollbackEnabledUpdate }
      : {}),
  };
}

function checkDescription(description: unknown): string {
  if (description === undefined) return '';
  if (typeof description !== 'string' || description.length > 1024) throw new InvalidArgumentException('ApplicationDescription: a string of at most 1024 characters');
  return description;
}

function compileCode(bucketArn: unknown, fileKey: unknown, objectVersion: unknown, field: string): ApplicationConfig['code'] {
  const match = typeof bucketArn === 'string' ? /^arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/.exec(bucketArn) : null;
  if (!match) throw new InvalidArgumentException(`${field}.BucketARN: an S3 bucket ARN (arn:aws:s3:::bucket), got ${JSON.stringify(bucketArn)}`);
  if (typeof fileKey !== 'string' || fileKey === '' || fileKey.length > 1024) throw new InvalidArgumentException(`${field}.FileKey: the object key of the archive, got ${JSON.stringify(fileKey)}`);
  if (objectVersion !== undefined && (typeof objectVersion !== 'string' || objectVersion === '')) throw new InvalidArgumentException(`${field}.ObjectVersion: a version id, got ${JSON.stringify(objectVersion)}`);
  return { bucket: match[1]!, key: fileKey, ...(objectVersion === undefined ? {} : { objectVersion: objectVersion as string }) };
}

function compilePropertyGroups(groups: readonly sdk.PropertyGroup[] | undefined, field: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  if (groups === undefined) return out;
  if (!Array.isArray(groups) || groups.length > 50) throw new InvalidArgumentException(`${field}: a list of at most 50 property groups`);
  groups.forEach((group, i) => {
    const id = group?.PropertyGroupId;
    if (typeof id !== 'string' || !/^[a-zA-Z0-9_.-]{1,50}$/.test(id)) throw new InvalidArgumentException(`${field}[${i}].PropertyGroupId: 1 to 50 letters, digits, '_', '.' or '-'; got ${JSON.stringify(id)}`);
    if (out[id] !== undefined) throw new InvalidArgumentException(`${field}[${i}].PropertyGroupId: "${id}" appears twice`);
    const map = group.PropertyMap ?? {};
    for (const [key, value] of Object.entries(map)) {
      if (typeof value !== 'string') throw new InvalidArgumentException(`${field}[${i}].PropertyMap.${key}: a string, got ${JSON.stringify(value)}`);
    }
    out[id] = { ...map };
  });
  return out;
}

/** The state backend: the property group `sluice.state` (`backend`: leveldb or memory); LevelDB by default. */
function stateBackendOf(groups: readonly sdk.PropertyGroup[] | undefined): 'leveldb' | 'memory' {
  const backend = groups?.find((g) => g.PropertyGroupId === 'sluice.state')?.PropertyMap?.backend;
  if (backend === undefined || backend === 'leveldb') return 'leveldb';
  if (backend === 'memory') return 'memory';
  throw new InvalidApplicationConfigurationException(`EnvironmentProperties: property group sluice.state, backend: "leveldb" or "memory", got ${JSON.stringify(backend)}`);
}

function compileCheckpointing(config: sdk.CheckpointConfiguration | undefined, field: string): ApplicationConfig['checkpointing'] {
  const type = config?.ConfigurationType ?? 'DEFAULT';
  if (type === 'DEFAULT') return { type, enabled: true, intervalMs: DEFAULT_CHECKPOINT_INTERVAL_MS, minPauseMs: DEFAULT_MIN_PAUSE_BETWEEN_CHECKPOINTS_MS };
  if (type !== 'CUSTOM') throw new InvalidArgumentException(`${field}.ConfigurationType: DEFAULT or CUSTOM, got ${JSON.stringify(type)}`);
  const intervalMs = config?.CheckpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  const minPauseMs = config?.MinPauseBetweenCheckpoints ?? DEFAULT_MIN_PAUSE_BETWEEN_CHECKPOINTS_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new InvalidArgumentException(`${field}.CheckpointInterval: milliseconds, at least 1; got ${JSON.stringify(intervalMs)}`);
  if (!Number.isInteger(minPauseMs) || minPauseMs < 0) throw new InvalidArgumentException(`${field}.MinPauseBetweenCheckpoints: milliseconds, at least 0; got ${JSON.stringify(minPauseMs)}`);
  const enabled = config?.CheckpointingEnabled ?? true;
  if (typeof enabled !== 'boolean') throw new InvalidArgumentException(`${field}.CheckpointingEnabled: true or false`);
  return { type, enabled, intervalMs, minPauseMs };
}

function compileParallelism(config: sdk.ParallelismConfiguration | undefined, field: string): ApplicationConfig['parallelism'] {
  const type = config?.ConfigurationType ?? 'DEFAULT';
  if (type === 'DEFAULT') return { type, parallelism: DEFAULT_PARALLELISM, perKpu: DEFAULT_PARALLELISM_PER_KPU, autoScaling: true };
  if (type !== 'CUSTOM') throw new InvalidArgumentException(`${field}.ConfigurationType: DEFAULT or CUSTOM, got ${JSON.stringify(type)}`);
  const parallelism = config?.Parallelism ?? DEFAULT_PARALLELISM;
  const perKpu = config?.ParallelismPerKPU ?? DEFAULT_PARALLELISM_PER_KPU;
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 32768) throw new InvalidArgumentException(`${field}.Parallelism: an integer in [1, 32768], got ${JSON.stringify(parallelism)}`);
  if (!Number.isInteger(perKpu) || perKpu < 1 || perKpu > 8) throw new InvalidArgumentException(`${field}.ParallelismPerKPU: an integer in [1, 8], got ${JSON.stringify(perKpu)}`);
  return { type, parallelism, perKpu, autoScaling: config?.AutoScalingEnabled ?? false };
}

function compileMonitoring(config: sdk.MonitoringConfiguration | undefined): ApplicationConfig['monitoring'] {
  const type = config?.ConfigurationType ?? 'DEFAULT';
  if (type === 'DEFAULT') return { type, logLevel: 'INFO', metricsLevel: 'APPLICATION' };
  const field = 'FlinkApplicationConfiguration.MonitoringConfiguration';
  if (type !== 'CUSTOM') throw new InvalidArgumentException(`${field}.ConfigurationType: DEFAULT or CUSTOM, got ${JSON.stringify(type)}`);
  const logLevel = config?.LogLevel ?? 'INFO';
  const metricsLevel = config?.MetricsLevel ?? 'APPLICATION';
  if (!['INFO', 'WARN', 'ERROR', 'DEBUG'].includes(logLevel)) throw new InvalidArgumentException(`${field}.LogLevel: INFO, WARN, ERROR or DEBUG, got ${JSON.stringify(logLevel)}`);
  if (!['APPLICATION', 'TASK', 'OPERATOR', 'PARALLELISM'].includes(metricsLevel)) throw new InvalidArgumentException(`${field}.MetricsLevel: APPLICATION, TASK, OPERATOR or PARALLELISM, got ${JSON.stringify(metricsLevel)}`);
  return { type, logLevel, metricsLevel };
}

/** The job's properties: the property groups, as `env, properties` reads them in the application. */
export function jobPropertiesOf(config: ApplicationConfig): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(config.propertyGroups).map(([id, map]) => [id, { ...map }]));
}

/** The API's ApplicationDetail of a record (its current version's configuration). */
export function applicationDetailOf(record: ApplicationRecord, currentParallelism: number | undefined): sdk.ApplicationDetail {
  const c = record.config;
  return {
    ApplicationARN: record.arn,
    ApplicationName: record.name,
    ApplicationDescription: c.description,
    RuntimeEnvironment: record.runtime as sdk.RuntimeEnvironment,
    ...(c.serviceExecutionRole === undefined ? {} : { ServiceExecutionRole: c.serviceExecutionRole }),
    ApplicationStatus: record.status as sdk.ApplicationStatus,
    ApplicationVersionId: record.versionId,
    CreateTimestamp: new Date(record.createdAtMs),
    LastUpdateTimestamp: new Date(record.updatedAtMs),
    ApplicationMode: 'STREAMING',
    ...(record.versionUpdatedFrom === undefined ? {} : { ApplicationVersionUpdatedFrom: record.versionUpdatedFrom }),
    ...(record.versionRolledBackFrom === undefined ? {} : { ApplicationVersionRolledBackFrom: record.versionRolledBackFrom }),
    ...(record.versionRolledBackTo === undefined ? {} : { ApplicationVersionRolledBackTo: record.versionRolledBackTo }),
    ApplicationConfigurationDescription: {
      ApplicationCodeConfigurationDescription: {
        CodeContentType: 'ZIPFILE',
        CodeContentDescription: {
          S3ApplicationCodeLocationDescription: {
            BucketARN: `arn:aws:s3:::${c.code.bucket}`,
            FileKey: c.code.key,
            ...(c.code.objectVersion === undefined ? {} : { ObjectVersion: c.code.objectVersion }),
          },
        },
      },
      EnvironmentPropertyDescriptions: {
        PropertyGroupDescriptions: Object.entries(c.propertyGroups).map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap: { ...PropertyMap } })),
      },
      FlinkApplicationConfigurationDescription: {
        CheckpointConfigurationDescription: {
          ConfigurationType: c.checkpointing.type,
          CheckpointingEnabled: c.checkpointing.enabled,
          CheckpointInterval: c.checkpointing.intervalMs,
          MinPauseBetweenCheckpoints: c.checkpointing.minPauseMs,
        },
        ParallelismConfigurationDescription: {
          ConfigurationType: c.parallelism.type,
          Parallelism: c.parallelism.parallelism,
          ParallelismPerKPU: c.parallelism.perKpu,
          CurrentParallelism: currentParallelism ?? c.parallelism.parallelism,
          AutoScalingEnabled: c.parallelism.autoScaling,
        },
        MonitoringConfigurationDescription: { ConfigurationType: c.monitoring.type, LogLevel: c.monitoring.logLevel as sdk.LogLevel, MetricsLevel: c.monitoring.metricsLevel as sdk.MetricsLevel },
      },
      ApplicationSnapshotConfigurationDescription: { SnapshotsEnabled: c.snapshotsEnabled },
      ApplicationSystemRollbackConfigurationDescription: { RollbackEnabled: c.rollbackEnabled },
    },
  };
}
