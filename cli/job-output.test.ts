import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../shared/errors.ts';
import { clientCommand } from './cluster-commands.ts';
import { jobsTable, jobText } from './job-output.ts';

const JOB = {
  jobId: 'a1b2',
  jobName: 'hot-items',
  state: 'running',
  attempt: 2,
  parallelism: 2,
  maxParallelism: 128,
  numRestarts: 1,
  failure: null,
  submittedAtMs: Date.UTC(2026, 11, 7, 23, 0, 0),
  checkpoints: { completed: 12, failed: 1, inProgress: 13, latest: { checkpointId: 12, durationMs: 84 }, periodic: { enabled: true, intervalMs: 1000, source: 'cluster' } },
  subtasks: [
    { taskName: 'Source: nexmark (1/2)', subtask: 0, workerId: 'worker-1', state: 'running', recordsIn: 1200, recordsOut: 1200, watermark: Date.UTC(2026, 11, 7, 23, 1, 0), backPressured: true, lateRecordsDropped: 0 },
    { taskName: 'Window (2/2)', subtask: 1, workerId: 'worker-2', state: 'finished', recordsIn: 600, recordsOut: 12, watermark: Number.NEGATIVE_INFINITY, lateRecordsDropped: 3 },
  ],
};

describe('job output for people', () => {
  it('lists jobs as a table, and says so when there is none', () => {
    assert.equal(jobsTable({ jobs: [{ jobId: 'a1b2', jobName: 'hot-items', state: 'running', attempt: 2 }] }), 'JOB ID  NAME       STATE    ATTEMPT\na1b2    hot-items  running  2\n');
    assert.equal(jobsTable({ jobs: [] }), 'no jobs\n');
  });

  it("shows a job's state, checkpoints and subtasks", () => {
    const text = jobText(JOB);
    assert.match(text, /^Job +hot-items \(a1b2\)$/m);
    assert.match(text, /^State +running, attempt 2, 1 restart\(s\)$/m);
    assert.match(text, /^Checkpoints +12 completed, 1 failed, 13 in progress; latest 12 in 84 ms$/m);
    assert.match(text, /^Periodic +every 1000 ms \(cluster setting\)$/m);
    assert.doesNotMatch(text, /^Failure/m, 'no failure line without a failure');
    assert.match(text, /^Source: nexmark \(1\/2\) +worker-1 +running \(back-pressured\) +1200 +1200 +0 +2026-12-07T23:01:00.000Z$/m);
    assert.match(text, /^Window \(2\/2\) +worker-2 +finished +600 +12 +3 +-$/m);
  });

  it('refuses an output it does not know, naming the flag', async () => {
    await assert.rejects(clientCommand('list', ['--output', 'yaml'], {}), (error: unknown) => error instanceof ConfigurationError && /--output: table or json, got "yaml"/.test(error.message));
  });
});
