// State with a time-to-live on a cluster of real processes, on LevelDB: keyed-count-app with its
// count given a time-to-live longer than the run (so every count must still come out exact) and
// its padding one of 200 ms (so the background sweep deletes state all along, while checkpoints
// read and rescales move the same key groups). Parallelism 2 on three workers; one is killed with
// kill -9 mid-run, the job restores, then it is rescaled live to 3. Nothing lost, nothing doubled:
// neither the sweep nor a restore nor a rescale touched a count that had not expired.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareCommittedOutput, expectedBidCounts } from './testing/keyed-count-expectation.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { KEYED_COUNT_APP, ProcessCluster } from './testing/process-cluster.ts';

const EVENTS = 40_000;
const RATE = 2_000; // twenty seconds of input
let dir: string;
let cluster: ProcessCluster | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-state-ttl-'));
});

after(async () => {
  await cluster?.stop();
  if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

describe('state with a time-to-live on a cluster', { timeout: 240_000 }, () => {
  it('LevelDB with the sweep deleting expired state: a worker killed, a live rescale, and every count exact', async () => {
    cluster = await ProcessCluster.start({ dir, coordinators: 1, workers: 3, slotsPerWorker: 1, checkpointIntervalMs: 500 });
    const output = join(dir, 'output');
    const properties = { test: { output, events: String(EVENTS), rate: String(RATE), statePaddingBytes: '200', countTtlMs: '3600000', paddingTtlMs: '200' } };
    const { jobId } = await cluster.rest('POST', '/v1/jobs', { application: KEYED_COUNT_APP, parallelism: 2, properties, stateBackend: 'leveldb' });
    const job = async () => {
      const status = await cluster!.job(jobId);
      if (status.state === 'failed') throw new Error(`job failed: ${status.failure}`);
      return status;
    };
    const running = await waitFor('the job to run on two workers and complete two checkpoints', 60_000, async () => {
      const status = await job();
      return status.state === 'running' && status.checkpoints.completed >= 2 && new Set(status.subtasks.map((s: { workerId: string }) => s.workerId)).size === 2 ? status : undefined;
    });

    const victim = cluster.workers.find((w) => w.id === running.subtasks.at(-1).workerId)!;
    cluster.kill(victim, 'SIGKILL');
    await waitFor('the job to restore and complete a checkpoint after it', 90_000, async () => {
      const status = await job();
      return status.state === 'running' && status.numRestarts >= 1 && status.checkpoints.completed > running.checkpoints.completed + 1 ? status : undefined;
    }, 200);
    await cluster.restartWorker(victim); // a third slot for the rescale
    await cluster.rest('POST', `/v1/jobs/${jobId}/rescale`, { parallelism: 3 }).catch((error: Error) => {
      throw new Error(`the rescale was refused: ${error.message}`);
    });
    let progress = '';
    const finished = await waitFor(() => `the job to finish (${progress})`, 150_000, async () => {
      progress = await cluster!.jobProgress(jobId);
      const status = await job();
      return status.state === 'finished' ? status : undefined;
    }, 200);

    assert.ok(finished.numRestarts >= 1, `restarts: ${finished.numRestarts}`);
    const comparison = compareCommittedOutput(output, expectedBidCounts(EVENTS));
    assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
    process.stderr.write(`# finished at parallelism ${finished.parallelism} after ${finished.numRestarts} restart(s), ${comparison.committedRecords} counts exact\n`);
  });
});
