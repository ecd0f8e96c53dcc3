// Whose periodic checkpoint settings a cluster job runs with: an application's
// CheckpointConfiguration (its submission's) wins over the interval its code asked for with
// enableCheckpointing(), which wins over the cluster's; disabled means no periodic checkpoints.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import { checkpointingOf, type CheckpointingSettings } from './job-controller.ts';
import type { JobSubmission } from './job-record.ts';

const cluster: CheckpointingSettings = {
  checkpointRoot: 'memory://c',
  snapshotRoot: 'memory://s',
  checkpointIntervalMs: 10_000,
  minPauseBetweenCheckpointsMs: 1_000,
  retainedCheckpoints: 3,
  checkpointTimeoutMs: 600_000,
  tolerableFailedCheckpoints: 0,
};
const submission: JobSubmission = { jobId: 'j', jobName: 'j', applicationPath: '/app.ts', properties: {} };

describe('a job\'s checkpoint settings', () => {
  it("are the cluster's when neither the submission nor the application says", () => {
    const settings = checkpointingOf(submission, new StreamExecutionEnvironment(), cluster);
    assert.deepEqual([settings.enabled, settings.checkpointIntervalMs, settings.minPauseBetweenCheckpointsMs, settings.source], [true, 10_000, 1_000, 'cluster']);
  });

  it("honour the application's enableCheckpointing() on the cluster", () => {
    const settings = checkpointingOf(submission, new StreamExecutionEnvironment().enableCheckpointing(2_500), cluster);
    assert.deepEqual([settings.checkpointIntervalMs, settings.source], [2_500, 'application']);
  });

  it("are the submission's (an application's CheckpointConfiguration) over both, retention and timeout staying the cluster's", () => {
    const env = new StreamExecutionEnvironment().enableCheckpointing(2_500);
    const settings = checkpointingOf({ ...submission, checkpointing: { enabled: false, intervalMs: 60_000, minPauseMs: 5_000 } }, env, cluster);
    assert.deepEqual([settings.enabled, settings.checkpointIntervalMs, settings.minPauseBetweenCheckpointsMs, settings.source], [false, 60_000, 5_000, 'submission']);
    assert.equal(settings.checkpointTimeoutMs, 600_000);
    assert.equal(settings.retainedCheckpoints, 3);
  });
});
