// Failures of a real cluster: real etcd, coordinator and worker OS processes. Each case runs the
// keyed-count application (bounded, rate-limited, exactly-once file sink), injects a fault while
// it runs, and compares the committed output with what a run without faults commits: nothing
// lost, nothing doubled.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireEtcd } from '../../shared/testing/services.ts';
import { compareCommittedOutput, expectedBidCounts } from './testing/keyed-count-expectation.ts';
import { restCall } from '../../cli/cluster-commands.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { ProcessCluster, TEST_TOKEN } from './testing/process-cluster.ts';

const EVENTS = 30_000;
const RATE = 3_000; // ten seconds of input
let etcd: string[];
let expected: Map<number, number>;
const dirs: string[] = [];
const clusters: ProcessCluster[] = [];

before(async () => {
  etcd = await requireEtcd();
  expected = expectedBidCounts(EVENTS);
});

after(async () => {
  for (const cluster of clusters) await cluster.stop();
  for (const dir of dirs) if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

async function startCluster(coordinators: number): Promise<{ cluster: ProcessCluster; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-failover-'));
  dirs.push(dir);
  const cluster = await ProcessCluster.start({
    dir,
    coordinators,
    workers: 3,
    slotsPerWorker: 2,
    etcdEndpoints: etcd,
    etcdNamespace: `/sluice-test-${process.pid}-${Date.now()}/`,
    // Long enough that a loaded CI machine does not miss keepalives; the tests wait for expiry.
    leaseTtlSeconds: 4,
  });
  clusters.push(cluster);
  return { cluster, dir };
}

async function submitAndWaitForCheckpoint(cluster: ProcessCluster, output: string) {
  const jobId = await cluster.submit({ test: { output, events: String(EVENTS), rate: String(RATE) } }, 2);
  const running = await waitFor('the job to run and complete a checkpoint', 30_000, async () => {
    const job = await cluster.job(jobId);
    return job.state === 'running' && job.checkpoints.completed >= 1 && job.subtasks.length > 0 ? job : undefined;
  });
  return { jobId, running };
}

/** Waits, and on a timeout tells what the coordinators logged last and, given a job, what it still waits for. */
async function waitWithLogs<T>(cluster: ProcessCluster, wait: Promise<T>, jobId?: string): Promise<T> {
  try {
    return await wait;
  } catch (error) {
    const progress = jobId === undefined ? '' : `\n${await cluster.jobProgress(jobId)}`;
    throw new Error(`${(error as Error).message}${progress}\n${cluster.coordinatorLogTails()}`);
  }
}

function waitForState(cluster: ProcessCluster, jobId: string, state: string, timeoutMs = 90_000) {
  return waitFor(`job ${jobId} to be ${state}`, timeoutMs, async () => {
    const job = await cluster.job(jobId);
    if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
    return job.state === state ? job : undefined;
  }, 200);
}

describe('a cluster on real etcd and processes', { timeout: 180_000 }, () => {
  it('survives a worker killed with kill -9: restarts from the latest checkpoint, nothing lost or doubled', async () => {
    const { cluster, dir } = await startCluster(1);
    const output = join(dir, 'output');
    const { jobId, running } = await submitAndWaitForCheckpoint(cluster, output);
    const victimId = running.subtasks[0].workerId as string;
    const victim = cluster.workers.find((w) => w.id === victimId)!;
    const killedAt = Date.now();
    cluster.kill(victim, 'SIGKILL');

    const restarted = await waitFor('the job to run again on the other workers', 30_000, async () => {
      const job = await cluster.job(jobId);
      return job.state === 'running' && job.attempt > running.attempt ? job : undefined;
    });
    assert.ok(restarted.subtasks.every((s: { workerId: string }) => s.workerId !== victimId) || restarted.subtasks.length === 0, 'nothing runs on the killed worker');
    const finished = await waitWithLogs(cluster, waitForState(cluster, jobId, 'finished'), jobId);
    assert.ok(finished.numRestarts >= 1, `restarts: ${finished.numRestarts}`);
    const comparison = compareCommittedOutput(output, expected);
    assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
    process.stderr.write(`# worker kill: job finished ${Date.now() - killedAt} ms after the kill, in attempt ${finished.attempt}\n`);
  });

  it('survives the leader coordinator killed with kill -9: the standby takes the running job over without restarting workers', async () => {
    const { cluster, dir } = await startCluster(2);
    const output = join(dir, 'output');
    const oldLeader = (await cluster.leaderIndex())!;
    const { jobId, running } = await submitAndWaitForCheckpoint(cluster, output);
    cluster.kill(cluster.coordinators[oldLeader]!, 'SIGKILL');

    const newLeader = await waitWithLogs(
      cluster,
      waitFor('a standby to be elected', 60_000, async () => {
        const index = await cluster.leaderIndex();
        return index !== undefined && index !== oldLeader ? index : undefined;
      }),
    );
    const finished = await waitWithLogs(cluster, waitForState(cluster, jobId, 'finished'), jobId);
    assert.equal(finished.attempt, running.attempt, 'the running attempt was adopted, not redeployed');
    assert.equal(finished.numRestarts, running.numRestarts, 'no restart after the leader was killed');
    const comparison = compareCommittedOutput(output, expected);
    assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
    const took = cluster.logLines(cluster.coordinators[newLeader]!).find((l) => l.message === 'took over job');
    assert.equal(took?.outcome, 'adopted');
  });

  it('fences a leader paused past its lease: after SIGCONT every call and commit it attempts is rejected and it steps down', async () => {
    const { cluster, dir } = await startCluster(2);
    const output = join(dir, 'output');
    const oldIndex = (await cluster.leaderIndex())!;
    const old = cluster.coordinators[oldIndex]!;
    const { jobId } = await submitAndWaitForCheckpoint(cluster, output);
    const oldEpoch = cluster.logLines(old).find((l) => l.message === 'elected leader')!.epoch as number;
    cluster.kill(old, 'SIGSTOP');

    const newIndex = await waitWithLogs(
      cluster,
      waitFor('a standby to be elected while the leader is paused', 60_000, async () => {
        const index = await cluster.leaderIndex();
        return index !== undefined && index !== oldIndex ? index : undefined;
      }),
    );
    await waitFor('every worker to register with the new leader', 30_000, async () => {
      const overview = await cluster.rest('GET', '/v1/overview');
      return overview.workers.length === 3 && overview.ready ? overview : undefined;
    });
    const newEpoch = cluster.logLines(cluster.coordinators[newIndex]!).find((l) => l.message === 'elected leader')!.epoch as number;
    assert.ok(newEpoch > oldEpoch, `new epoch ${newEpoch} > old epoch ${oldEpoch}`);
    const resumedAt = new Date().toISOString();
    cluster.kill(old, 'SIGCONT');

    await waitFor('the old leader to step down', 30_000, () =>
      cluster.logLines(old).find((l) => l.message === 'lost the leadership: stepped down' && l.timestamp >= resumedAt),
    );
    const finished = await waitWithLogs(cluster, waitForState(cluster, jobId, 'finished'), jobId);
    const comparison = compareCommittedOutput(output, expected);
    assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
    assert.equal(comparison.committedRecords, comparison.expectedRecords);
    assert.ok(finished.checkpoints.pointer > 0);

    // The paused leader changed nothing: no worker committed or deployed anything for its epoch
    // after it resumed, and it completed no checkpoint after resuming.
    for (const worker of cluster.workers) {
      const late = cluster.logLines(worker).filter(
        (l) => l.timestamp >= resumedAt && l.epoch === oldEpoch && (l.message === 'committing checkpoint' || l.message === 'attempt deployed'),
      );
      assert.deepEqual(late.map((l) => l.message), [], `${worker.id} acted for the old epoch after it resumed`);
    }
    const oldAfterResume = cluster.logLines(old).filter((l) => l.timestamp >= resumedAt);
    assert.deepEqual(oldAfterResume.filter((l) => l.message === 'checkpoint completed'), []);

    // The old leader is a standby now: a client that asks it is sent on to the new leader.
    const viaStandby = await restCall({ coordinator: `http://127.0.0.1:${old.restPort}`, token: TEST_TOKEN }, 'GET', `/v1/jobs/${jobId}`);
    assert.equal(viaStandby.state, 'finished');
  });
});
