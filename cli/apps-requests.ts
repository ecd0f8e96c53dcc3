// The kinesisanalyticsv2 inputs `sluice apps` sends, built from its parsed flags: pure functions,
// so what a flag becomes on the wire is tested without a service.

import type * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import type { S3CodeLocation } from '../shared/application-code/code-location.ts';
import type { AppsRequest, ConfigurationFlags } from './apps-options.ts';

/** The runtime this service runs; implied by every create. */
export const SLUICE_RUNTIME_ENVIRONMENT = 'SLUICE-1' as sdk.RuntimeEnvironment;
/** The property group that names the state backend (the service reads `backend` from it). */
export const STATE_PROPERTY_GROUP = 'sluice.state';

type PropertyGroups = Record<string, Record<string, string>>;

export function createApplicationInputOf(request: Extract<AppsRequest, { command: 'create' }>): sdk.CreateApplicationRequest {
  const c = request.configuration;
  const groups = withPropertyFlags({}, c, []);
  const tags = Object.entries(request.tags);
  return {
    ApplicationName: request.name,
    RuntimeEnvironment: SLUICE_RUNTIME_ENVIRONMENT,
    ...(request.description === undefined ? {} : { ApplicationDescription: request.description }),
    // Required by the SDK's types, not by this service: undefined is left out of the request.
    ServiceExecutionRole: request.serviceExecutionRole,
    ApplicationConfiguration: {
      ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: s3ContentLocationOf(c.code) } },
      ...(Object.keys(groups).length === 0 ? {} : { EnvironmentProperties: { PropertyGroups: propertyGroupList(groups) } }),
      ...(hasParallelism(c) || hasCheckpointing(c)
        ? {
            FlinkApplicationConfiguration: {
              ...(hasParallelism(c)
                ? { ParallelismConfiguration: { ConfigurationType: 'CUSTOM', ...defined({ Parallelism: c.parallelism, ParallelismPerKPU: c.parallelismPerKpu, AutoScalingEnabled: c.autoScaling }) } }
                : {}),
              ...(hasCheckpointing(c)
                ? { CheckpointConfiguration: { ConfigurationType: 'CUSTOM', ...defined({ CheckpointingEnabled: c.checkpointing, CheckpointInterval: c.checkpointIntervalMs, MinPauseBetweenCheckpoints: c.minPauseMs }) } }
                : {}),
            },
          }
        : {}),
      ...(c.snapshots === undefined ? {} : { ApplicationSnapshotConfiguration: { SnapshotsEnabled: c.snapshots } }),
      ...(c.rollback === undefined ? {} : { ApplicationSystemRollbackConfiguration: { RollbackEnabled: c.rollback } }),
    },
    ...(tags.length === 0 ? {} : { Tags: tags.map(([Key, Value]) => ({ Key, Value })) }),
  };
}

/**
 * What an update changes: only the fields given. Property groups are sent whole (the API replaces
 * them all), so the ones given are merged into `current`'s.
 */
export function applicationConfigurationUpdateOf(
  request: Extract<AppsRequest, { command: 'update' }>,
  current: sdk.ApplicationDetail | undefined,
): sdk.ApplicationConfigurationUpdate {
  const c = request.configuration;
  const propertiesChange = c.properties.length > 0 || c.stateBackend !== undefined || request.removeProperties.length > 0;
  const groups = propertiesChange ? withPropertyFlags(currentPropertyGroups(current), c, request.removeProperties) : undefined;
  return {
    ...(c.code === undefined
      ? {}
      : {
          ApplicationCodeConfigurationUpdate: {
            CodeContentTypeUpdate: 'ZIPFILE',
            CodeContentUpdate: {
              S3ContentLocationUpdate: {
                BucketARNUpdate: bucketArnOf(c.code.bucket),
                FileKeyUpdate: c.code.key,
                ...(c.code.objectVersion === undefined ? {} : { ObjectVersionUpdate: c.code.objectVersion }),
              },
            },
          },
        }),
    ...(groups === undefined ? {} : { EnvironmentPropertyUpdates: { PropertyGroups: propertyGroupList(groups) } }),
    ...(hasParallelism(c) || hasCheckpointing(c)
      ? {
          FlinkApplicationConfigurationUpdate: {
            ...(hasParallelism(c)
              ? {
                  ParallelismConfigurationUpdate: {
                    ConfigurationTypeUpdate: 'CUSTOM',
                    ...defined({ ParallelismUpdate: c.parallelism, ParallelismPerKPUUpdate: c.parallelismPerKpu, AutoScalingEnabledUpdate: c.autoScaling }),
                  },
                }
              : {}),
            ...(hasCheckpointing(c)
              ? {
                  CheckpointConfigurationUpdate: {
                    ConfigurationTypeUpdate: 'CUSTOM',
                    ...defined({ CheckpointingEnabledUpdate: c.checkpointing, CheckpointIntervalUpdate: c.checkpointIntervalMs, MinPauseBetweenCheckpointsUpdate: c.minPauseMs }),
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(c.snapshots === undefined ? {} : { ApplicationSnapshotConfigurationUpdate: { SnapshotsEnabledUpdate: c.snapshots } }),
    ...(c.rollback === undefined ? {} : { ApplicationSystemRollbackConfigurationUpdate: { RollbackEnabledUpdate: c.rollback } }),
  };
}

/** Whether the update needs the application's current configuration (to merge properties into). */
export function updateNeedsCurrentConfiguration(request: Extract<AppsRequest, { command: 'update' }>): boolean {
  const c = request.configuration;
  return c.properties.length > 0 || c.stateBackend !== undefined || request.removeProperties.length > 0;
}

export function runConfigurationOf(request: Extract<AppsRequest, { command: 'start' }>): sdk.RunConfiguration | undefined {
  const restore: sdk.ApplicationRestoreConfiguration | undefined =
    request.restore === undefined
      ? undefined
      : request.restore === 'skip'
        ? { ApplicationRestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' }
        : request.restore === 'latest'
          ? { ApplicationRestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT' }
          : { ApplicationRestoreType: 'RESTORE_FROM_CUSTOM_SNAPSHOT', SnapshotName: request.restore.snapshotName };
  if (restore === undefined && !request.allowNonRestoredState) return undefined;
  return {
    ...(restore === undefined ? {} : { ApplicationRestoreConfiguration: restore }),
    ...(request.allowNonRestoredState ? { FlinkRunConfiguration: { AllowNonRestoredState: true } } : {}),
  };
}

/** `arn:aws:s3:::bucket` + key → `s3://bucket/key`'s location; undefined for an ARN that is not a bucket's. */
export function s3CodeLocationOf(description: sdk.S3ApplicationCodeLocationDescription | undefined): S3CodeLocation | undefined {
  const bucket = /^arn:aws[a-z-]*:s3:::(.+)$/.exec(description?.BucketARN ?? '')?.[1];
  if (bucket === undefined || description?.FileKey === undefined) return undefined;
  return { bucket, key: description.FileKey, ...(description.ObjectVersion === undefined ? {} : { objectVersion: description.ObjectVersion }) };
}

function s3ContentLocationOf(code: S3CodeLocation): sdk.S3ContentLocation {
  return { BucketARN: bucketArnOf(code.bucket), FileKey: code.key, ...(code.objectVersion === undefined ? {} : { ObjectVersion: code.objectVersion }) };
}

function bucketArnOf(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

function currentPropertyGroups(current: sdk.ApplicationDetail | undefined): PropertyGroups {
  const groups: PropertyGroups = {};
  for (const group of current?.ApplicationConfigurationDescription?.EnvironmentPropertyDescriptions?.PropertyGroupDescriptions ?? []) {
    if (group.PropertyGroupId !== undefined) groups[group.PropertyGroupId] = { ...group.PropertyMap };
  }
  return groups;
}

/** `groups` with the removals, then the --property settings and --state-backend, applied. */
function withPropertyFlags(groups: PropertyGroups, c: ConfigurationFlags, removeProperties: readonly string[]): PropertyGroups {
  const out: PropertyGroups = Object.fromEntries(Object.entries(groups).map(([id, map]) => [id, { ...map }]));
  for (const removed of removeProperties) {
    const dot = removed.indexOf('.');
    if (dot < 0) delete out[removed];
    else delete out[removed.slice(0, dot)]?.[removed.slice(dot + 1)];
  }
  for (const { group, key, value } of c.properties) (out[group] ??= {})[key] = value;
  if (c.stateBackend !== undefined) (out[STATE_PROPERTY_GROUP] ??= {}).backend = c.stateBackend;
  for (const [id, map] of Object.entries(out)) if (Object.keys(map).length === 0) delete out[id];
  return out;
}

function propertyGroupList(groups: PropertyGroups): sdk.PropertyGroup[] {
  return Object.entries(groups).map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap }));
}

function hasParallelism(c: ConfigurationFlags): boolean {
  return c.parallelism !== undefined || c.parallelismPerKpu !== undefined || c.autoScaling !== undefined;
}

function hasCheckpointing(c: ConfigurationFlags): boolean {
  return c.checkpointing !== undefined || c.checkpointIntervalMs !== undefined || c.minPauseMs !== undefined;
}

/** The entries whose value is given. */
function defined<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}
