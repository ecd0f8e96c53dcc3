// A window with a trigger and an evictor on a cluster of real processes (issue 20, item 6):
// window-count-app counts the bids of each auction in a global window that fires on every bid
// and keeps its bids as a list (an evictor), with the LevelDB backend, parallelism 2 on two of
// three workers; one of the two is killed with kill -9 mid-run. The job restores the windows'
// lists, trigger state and timers from its latest checkpoint and commits exactly what a run
// without faults does: each auction's counts 1..n once (a lost window would count from 1 again).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { compareCommittedOutput, expectedBidCounts } from './testing/keyed-count-expectation.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { ProcessCluster } from './testing/process-cluster.ts';

const WINDOW_COUNT_APP = fileURLToPath(new URL('./testing/window-count-app.ts', import.meta.url));
const EVENTS = 20_000;
const RATE = 2_000; // ten seconds of input
let dir: string;
let cluster: ProcessCluster | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-window-trigger-'));
});

after(async () => {
  await cluster?.stop();
  if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

describe('a window with a trigger and an evictor on a cluster', { timeout: 240_000 }, () => {
  it('a worker killed mid-run: the windows are restored from the checkpoint and the output is exact', async () => {
    cluster = await ProcessCluster.start({ dir, coordinators: 1, workers: 3, slotsPerWorker: 1, checkpointIntervalMs: 500, workerArgs: ['--state-backend', 'leveldb'] });
    const output = join(dir, 'output');
    const submitted = await cluster.rest('POST', '/v1/jobs', {
      application: WINDOW_COUNT_APP,
      parallelism: 2,
      properties: { test: { output, events: String(EVENTS), rate: String(RATE) } },
    });
    const jobId: string = submitted.jobId;
    const expected = expectedBidCounts(EVENTS);
    // Windows restored empty would count again from 1 what is already committed: wait for committed output.
    const running = await waitFor('the job to run on both workers and commit a thousand counts', 60_000, async () => {
      const job = await cluster!.job(jobId);
      if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
      if (job.state !== 'running' || new Set(job.subtasks.map((s: { workerId: string }) => s.workerId)).size !== 2) return undefined;
      return existsSync(output) && compareCommittedOutput(output, expected).committedRecords >= 1_000 ? job : undefined;
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
    const comparison = compareCommittedOutput(output, expected);
    assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
  });
});
