// What `sluice apps` prints: aligned tables and key/value lines for people, or the API's response
// as JSON (dates as ISO strings, without the SDK's `$metadata`) for scripts.

import type * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { codeLocationUrl } from '../shared/application-code/code-location.ts';
import { s3CodeLocationOf } from './apps-requests.ts';

/** The response as JSON; a Date prints as its ISO string. */
export function jsonText(response: object): string {
  const { $metadata: _, ...rest } = response as { $metadata?: unknown };
  return `${JSON.stringify(rest, null, 2)}\n`;
}

/** Columns padded to their widest cell; `empty` when there is no row. */
export function tableText(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, empty: string): string {
  if (rows.length === 0) return `${empty}\n`;
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[headers, ...rows].map(line).join('\n')}\n`;
}

/** `Key   value` lines; a value of several lines continues under the first. */
export function keyValueText(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = pairs.filter((pair): pair is readonly [string, string] => pair[1] !== undefined && pair[1] !== '');
  const width = Math.max(...shown.map(([key]) => key.length)) + 2;
  return `${shown.map(([key, value]) => `${key.padEnd(width)}${value.split('\n').join(`\n${' '.repeat(width)}`)}`).join('\n')}\n`;
}

export function timeText(date: Date | undefined): string {
  return date === undefined ? '-' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function applicationsTable(summaries: readonly sdk.ApplicationSummary[]): string {
  return tableText(
    ['NAME', 'STATUS', 'VERSION', 'RUNTIME'],
    summaries.map((s) => [s.ApplicationName ?? '', s.ApplicationStatus ?? '', String(s.ApplicationVersionId ?? ''), s.RuntimeEnvironment ?? '']),
    'no applications',
  );
}

/** An application (or one of its versions): status, version, code and configuration. */
export function applicationText(detail: sdk.ApplicationDetail): string {
  const config = detail.ApplicationConfigurationDescription;
  const code = s3CodeLocationOf(config?.ApplicationCodeConfigurationDescription?.CodeContentDescription?.S3ApplicationCodeLocationDescription);
  const flink = config?.FlinkApplicationConfigurationDescription;
  const parallelism = flink?.ParallelismConfigurationDescription;
  const checkpoint = flink?.CheckpointConfigurationDescription;
  const properties = (config?.EnvironmentPropertyDescriptions?.PropertyGroupDescriptions ?? []).flatMap((group) =>
    Object.entries(group.PropertyMap ?? {}).map(([key, value]) => `${group.PropertyGroupId}.${key}=${value}`),
  );
  return keyValueText([
    ['Name', detail.ApplicationName],
    ['ARN', detail.ApplicationARN],
    ['Status', detail.ApplicationStatus],
    ['Version', versionText(detail)],
    ['Runtime', detail.RuntimeEnvironment],
    ['Description', detail.ApplicationDescription],
    ['Role', detail.ServiceExecutionRole],
    ['Code', code === undefined ? undefined : codeLocationUrl(code)],
    [
      'Parallelism',
      parallelism === undefined
        ? undefined
        : `${parallelism.Parallelism} (${parallelism.ConfigurationType}; ${parallelism.ParallelismPerKPU} per KPU; autoscaling ${onOff(parallelism.AutoScalingEnabled)}; current ${parallelism.CurrentParallelism})`,
    ],
    [
      'Checkpointing',
      checkpoint === undefined
        ? undefined
        : checkpoint.CheckpointingEnabled
          ? `on, every ${checkpoint.CheckpointInterval} ms, min pause ${checkpoint.MinPauseBetweenCheckpoints} ms (${checkpoint.ConfigurationType})`
          : `off (${checkpoint.ConfigurationType})`,
    ],
    ['Snapshots', config?.ApplicationSnapshotConfigurationDescription === undefined ? undefined : onOff(config.ApplicationSnapshotConfigurationDescription.SnapshotsEnabled)],
    ['Rollback', config?.ApplicationSystemRollbackConfigurationDescription === undefined ? undefined : onOff(config.ApplicationSystemRollbackConfigurationDescription.RollbackEnabled)],
    ['Properties', properties.length === 0 ? '-' : properties.join('\n')],
    ['Created', detail.CreateTimestamp === undefined ? undefined : timeText(detail.CreateTimestamp)],
    ['Updated', detail.LastUpdateTimestamp === undefined ? undefined : timeText(detail.LastUpdateTimestamp)],
  ]);
}

export function snapshotsTable(snapshots: readonly sdk.SnapshotDetails[]): string {
  return tableText(
    ['NAME', 'STATUS', 'VERSION', 'CREATED'],
    snapshots.map((s) => [s.SnapshotName ?? '', s.SnapshotStatus ?? '', String(s.ApplicationVersionId ?? ''), timeText(s.SnapshotCreationTimestamp)]),
    'no snapshots',
  );
}

export function snapshotText(snapshot: sdk.SnapshotDetails): string {
  return keyValueText([
    ['Name', snapshot.SnapshotName],
    ['Status', snapshot.SnapshotStatus],
    ['Version', String(snapshot.ApplicationVersionId ?? '')],
    ['Runtime', snapshot.RuntimeEnvironment],
    ['Created', timeText(snapshot.SnapshotCreationTimestamp)],
  ]);
}

export function versionsTable(versions: readonly sdk.ApplicationVersionSummary[]): string {
  return tableText(['VERSION', 'STATUS'], versions.map((v) => [String(v.ApplicationVersionId ?? ''), v.ApplicationStatus ?? '']), 'no versions');
}

export function operationsTable(operations: readonly sdk.ApplicationOperationInfo[]): string {
  return tableText(
    ['ID', 'OPERATION', 'STATUS', 'START', 'END'],
    operations.map((o) => [o.OperationId ?? '', o.Operation ?? '', o.OperationStatus ?? '', timeText(o.StartTime), timeText(o.EndTime)]),
    'no operations',
  );
}

export function operationText(operationId: string, details: sdk.ApplicationOperationInfoDetails): string {
  const change = details.ApplicationVersionChangeDetails;
  return keyValueText([
    ['ID', operationId],
    ['Operation', details.Operation],
    ['Status', details.OperationStatus],
    ['Start', timeText(details.StartTime)],
    ['End', timeText(details.EndTime)],
    ['Version', change === undefined ? undefined : `${change.ApplicationVersionUpdatedFrom} → ${change.ApplicationVersionUpdatedTo}`],
    ['Failure', details.OperationFailureDetails?.ErrorInfo?.ErrorString],
  ]);
}

function versionText(detail: sdk.ApplicationDetail): string {
  const notes = [
    ...(detail.ApplicationVersionUpdatedFrom === undefined ? [] : [`updated from ${detail.ApplicationVersionUpdatedFrom}`]),
    ...(detail.ApplicationVersionRolledBackFrom === undefined ? [] : [`rolled back from ${detail.ApplicationVersionRolledBackFrom} to ${detail.ApplicationVersionRolledBackTo}`]),
  ];
  return `${detail.ApplicationVersionId ?? '-'}${notes.length === 0 ? '' : ` (${notes.join('; ')})`}`;
}

function onOff(value: boolean | undefined): string {
  return value === undefined ? '-' : value ? 'on' : 'off';
}
