// A checkpoint trigger that does not reach one worker, on a real cluster of processes (issue 12,
// item 2): the worker is paused (SIGSTOP) past the trigger's deadline but not past its heartbeat
// timeout, so the trigger reaches the sources of one worker and not the other's. The checkpoint
// is declined and aborted on every worker; the checkpoints after it complete; a restore from one
// of them (the other worker killed with kill -9) commits exactly what a run without faults does.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareCommittedOutput, expectedBidCounts } from './testing/keyed-count-expectation.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { ProcessCluster } from './testing/process-cluster.ts';

const EVENTS = 40_000;
const RATE = 2_000; // twenty seconds of input
let expected: Map<number, number>;
let dir: string;
let cluster: ProcessCluster | undefined;

before(() => {
  expected = expectedBidCounts(EVENTS);
  dir = mkdtempSync(join(tmpdir(), 'sluice-lost-trigger-'));
});

after(async () => {
  await cluster?.stop();
  if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

describe('a checkpoint trigger lost on the way to one worker', { timeout: 240_000 }, () => {
  it('is declined and aborted everywhere; later checkpoints complete, and a restore from one is exact', async () => {
    // The trigger's deadline is 10 s; a worker paused for longer must not be declared lost.
    cluster = await ProcessCluster.start({ dir, coordinators: 1, workers: 3, slotsPerWorker: 1, heartbeatTimeoutMs: 60_000, checkpointIntervalMs: 1_000 });
    const output = join(dir, 'output');
    const jobId = await cluster.submit({ test: { output, events: String(EVENTS), rate: String(RATE) } }, 2);
    const running = await waitFor('the job to run and complete a checkpoint', 60_000, async () => {
      const job = await cluster!.job(jobId);
      return job.state === 'running' && job.checkpoints.completed >= 1 && job.subtasks.length > 0 ? job : undefined;
    });
    const workerIds = [...new Set<string>(running.subtasks.map((s: { workerId: string }) => s.workerId))];
    assert.equal(workerIds.length, 2, 'the job runs on two workers');
    const paused = cluster.workers.find((w) => w.id === workerIds[1])!;
    const other = cluster.workers.find((w) => w.id === workerIds[0])!;

    cluster.kill(paused, 'SIGSTOP');
    const declined = await waitFor('a checkpoint to fail while the worker is paused', 60_000, async () => {
      const job = await cluster!.job(jobId);
      return job.checkpoints.failed > running.checkpoints.failed ? job : undefined;
    }, 200);
    cluster.kill(paused, 'SIGCONT');
    const logged = cluster.logLines(cluster.coordinators[0]!).find((l) => l.message === 'checkpoint declined');
    assert.match(String(logged?.reason), /triggering it on worker .* failed/, 'the coordinator declined the checkpoint whose trigger failed');

    const afterDecline = await waitFor('a checkpoint to complete after the declined one', 60_000, async () => {
      const job = await cluster!.job(jobId);
      return job.state === 'running' && job.checkpoints.completed > declined.checkpoints.completed ? job : undefined;
    }, 200);
    assert.equal(afterDecline.attempt, running.attempt, 'no restart so far');
    const abortedOn = (worker: typeof paused) => cluster!.logLines(worker).filter((l) => l.message === 'checkpoint aborted by the coordinator').map((l) => Number(l.checkpointId));
    const declinedId = Number(logged!.checkpointId);
    // The paused worker may never see its trigger and abort at all (gRPC drops calls past their deadline).
    assert.ok(abortedOn(other).includes(declinedId), `the other worker aborted checkpoint ${declinedId}: ${abortedOn(other)}`);

    cluster.kill(other, 'SIGKILL');
    const finished = await waitFor('the job to finish after the restore', 150_000, async () => {
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
