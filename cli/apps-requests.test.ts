// What `sluice apps` flags become on the wire: the kinesisanalyticsv2 inputs, without a service.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { parseAppsOptions, type AppsRequest } from './apps-options.ts';
import { applicationConfigurationUpdateOf, createApplicationInputOf, runConfigurationOf } from './apps-requests.ts';

function request<C extends AppsRequest['command']>(command: C, ...args: string[]): Extract<AppsRequest, { command: C }> {
  const parsed = parseAppsOptions([command, ...args], {});
  assert.ok(!('help' in parsed));
  assert.equal(parsed.request.command, command);
  return parsed.request as Extract<AppsRequest, { command: C }>;
}

describe('apps requests', () => {
  it('create: the S3 URL becomes BucketARN, FileKey and ObjectVersion; a flag group given becomes CUSTOM; the rest is left to the service', () => {
    const input = createApplicationInputOf(
      request('create', 'counts', '--code', 's3://code/apps/v1.zip?versionId=abc', '--parallelism-per-kpu', '2', '--checkpointing', 'off', '--property', 'counts.window=10s', '--property', 'counts.lateness=1s', '--state-backend', 'memory', '--snapshots', 'off', '--tag', 'team=orders'),
    );
    assert.deepEqual(input, {
      ApplicationName: 'counts',
      RuntimeEnvironment: 'SLUICE-1',
      ServiceExecutionRole: undefined,
      ApplicationConfiguration: {
        ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: 'arn:aws:s3:::code', FileKey: 'apps/v1.zip', ObjectVersion: 'abc' } } },
        EnvironmentProperties: {
          PropertyGroups: [
            { PropertyGroupId: 'counts', PropertyMap: { window: '10s', lateness: '1s' } },
            { PropertyGroupId: 'sluice.state', PropertyMap: { backend: 'memory' } },
          ],
        },
        FlinkApplicationConfiguration: {
          ParallelismConfiguration: { ConfigurationType: 'CUSTOM', ParallelismPerKPU: 2 },
          CheckpointConfiguration: { ConfigurationType: 'CUSTOM', CheckpointingEnabled: false },
        },
        ApplicationSnapshotConfiguration: { SnapshotsEnabled: false },
      },
      Tags: [{ Key: 'team', Value: 'orders' }],
    });
    assert.deepEqual(createApplicationInputOf(request('create', 'counts', '--code', 's3://code/v1.zip')).ApplicationConfiguration, {
      ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { S3ContentLocation: { BucketARN: 'arn:aws:s3:::code', FileKey: 'v1.zip' } } },
    });
  });

  it('update: only the fields given; properties are merged into the current ones, removals applied first', () => {
    const current = {
      ApplicationConfigurationDescription: {
        EnvironmentPropertyDescriptions: {
          PropertyGroupDescriptions: [
            { PropertyGroupId: 'counts', PropertyMap: { window: '10s', lateness: '1s' } },
            { PropertyGroupId: 'old', PropertyMap: { x: '1' } },
          ],
        },
      },
    } as unknown as sdk.ApplicationDetail;
    const update = applicationConfigurationUpdateOf(
      request('update', 'counts', '--code', 's3://code/v2.zip', '--property', 'counts.window=20s', '--remove-property', 'counts.lateness', '--remove-property', 'old', '--rollback', 'on'),
      current,
    );
    assert.deepEqual(update, {
      ApplicationCodeConfigurationUpdate: { CodeContentTypeUpdate: 'ZIPFILE', CodeContentUpdate: { S3ContentLocationUpdate: { BucketARNUpdate: 'arn:aws:s3:::code', FileKeyUpdate: 'v2.zip' } } },
      EnvironmentPropertyUpdates: { PropertyGroups: [{ PropertyGroupId: 'counts', PropertyMap: { window: '20s' } }] },
      ApplicationSystemRollbackConfigurationUpdate: { RollbackEnabledUpdate: true },
    });
    assert.deepEqual(applicationConfigurationUpdateOf(request('update', 'counts', '--parallelism', '4', '--min-pause-ms', '0'), undefined), {
      FlinkApplicationConfigurationUpdate: {
        ParallelismConfigurationUpdate: { ConfigurationTypeUpdate: 'CUSTOM', ParallelismUpdate: 4 },
        CheckpointConfigurationUpdate: { ConfigurationTypeUpdate: 'CUSTOM', MinPauseBetweenCheckpointsUpdate: 0 },
      },
    });
  });

  it('start: --restore names the restore type, or the snapshot to restore', () => {
    assert.equal(runConfigurationOf(request('start', 'counts')), undefined, "the service's default: the latest snapshot");
    assert.deepEqual(runConfigurationOf(request('start', 'counts', '--restore', 'skip')), { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'SKIP_RESTORE_FROM_SNAPSHOT' } });
    assert.deepEqual(runConfigurationOf(request('start', 'counts', '--restore', 'latest')), { ApplicationRestoreConfiguration: { ApplicationRestoreType: 'RESTORE_FROM_LATEST_SNAPSHOT' } });
    assert.deepEqual(runConfigurationOf(request('start', 'counts', '--restore', 'before-v2', '--allow-non-restored-state')), {
      ApplicationRestoreConfiguration: { ApplicationRestoreType: 'RESTORE_FROM_CUSTOM_SNAPSHOT', SnapshotName: 'before-v2' },
      FlinkRunConfiguration: { AllowNonRestoredState: true },
    });
  });

  it('the connection: --endpoint, else SLUICE_COORDINATOR_URL, else the default; credentials both or neither', () => {
    const connection = (args: string[], env: NodeJS.ProcessEnv) => {
      const parsed = parseAppsOptions(['list', ...args], env);
      assert.ok(!('help' in parsed));
      return parsed.connection;
    };
    assert.deepEqual(connection([], {}), { endpoint: 'http://127.0.0.1:8081', region: 'us-east-1', credentials: undefined });
    assert.deepEqual(connection([], { SLUICE_COORDINATOR_URL: 'coordinator:8081', AWS_REGION: 'eu-west-1' }), { endpoint: 'http://coordinator:8081', region: 'eu-west-1', credentials: undefined });
    assert.equal(connection(['--endpoint', 'https://apps.example.com', '--region', 'eu-central-1'], { SLUICE_COORDINATOR_URL: 'x:1' }).endpoint, 'https://apps.example.com');
    assert.deepEqual(connection(['--access-key-id', 'AKIA', '--secret-access-key', 's'], {}).credentials, { accessKeyId: 'AKIA', secretAccessKey: 's' });
    assert.throws(() => connection(['--access-key-id', 'AKIA'], {}), /--secret-access-key: give both --access-key-id and --secret-access-key, or neither/);
  });
});
