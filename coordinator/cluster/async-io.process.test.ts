// Async I/O on a cluster of real processes (issue 20, item 1): keyed-count-app with every count
// passed through unorderedWait (answers after 5 ms, so records are in flight at every checkpoint),
// parallelism 2 on two of three workers; one of the two is killed with kill -9 mid-run. The job restores from
// its latest checkpoint, requests the records that were in flight again, and commits exactly what
// a run without faults does: nothing lost, nothing doubled.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareCommittedOutput, expectedBidCounts } from './testing/keyed-count-expectation.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { ProcessCluster } from './testing/process-cluster.ts';

const EVENTS = 30_000;
const RATE = 3_000; // ten seconds of input
let dir: string;
let cluster: ProcessCluster | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-async-io-'));
});

after(async () => {
  await cluster?.stop();
  if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

describe('async I/O on a cluster', { timeout: 240_000 }, () => {
  it('a worker killed mid-run: the records in flight are requested again after the restore, and the output is exact', async () => {
    cluster = await ProcessCluster.start({ dir, coordinators: 1, workers: 3, slotsPerWorker: 1, checkpointIntervalMs: 500 });
    const output = join(dir, 'output');
    const jobId = await cluster.submit({ test: { output, events: String(EVENTS), rate: String(RATE), asyncLookupMs: '5' } }, 2);
    const running = await waitFor('the job to run on both workers and complete two checkpoints', 60_000, async () => {
      const job = await cluster!.job(jobId);
      if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
      return job.state === 'running' && job.checkpoints.completed >= 2 && new Set(job.subtasks.map((s: { workerId: string }) => s.workerId)).size === 2 ? job : undefined;
    });

    const victim = cluster.workers.find((w) => w.id === running.subtasks[running.subtasks.length - 1].workerId)!;
    cluster.kill(victim, 'SIGKILL');
    let progress = '';
    const finished = await waitFor(() => `the job to finish after the restore (${progress})`, 150_000, async () => {
      progress = await cluster!.jobProgress(jobId);
      const job = await cluster!.job(jobId);
      if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
      return job.state === 'finished' ? job : undefined;
    }, 200);

    assert.ok(finished.numRestarts >= 1, `restarts: ${finished.numRestarts}`);
    const comparison = compareCommittedOutput(output, expectedBidCounts(EVENTS));
    assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
  });
});
