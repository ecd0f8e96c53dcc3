// A leader killed with kill -9 in the middle of a live rescale, on a real cluster (real etcd, two
// coordinators, three workers): at each step the leader records before it goes on (preparing,
// switching, completing), the instant it logs that the step is recorded. The standby takes over,
// finds the step in the job record and restarts the job from the checkpoint pointer: at the old
// parallelism while the rescale's checkpoint is not the pointer's (the switch never happened),
// at the new one after. The bounded job then finishes, and its committed output must be what a
// run without faults commits: nothing lost, nothing doubled.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireEtcd } from '../../shared/testing/services.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { compareCommittedOutput, expectedBidCounts } from './testing/keyed-count-expectation.ts';
import { ProcessCluster, type ClusterProcess } from './testing/process-cluster.ts';

const EVENTS = 16_000;
const RATE = 1_000; // 16 s of input: the rescale starts long before it ends, also on a loaded machine
const FROM = 2;
const TO = 3;
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

/** Kills `leader` with SIGKILL the instant it logs that it recorded step `phase` of a live rescale; resolves with that line. */
async function killWhenRecorded(cluster: ProcessCluster, leader: ClusterProcess, phase: string): Promise<Record<string, unknown>> {
  const line = await cluster.nextLogLine(leader, (l) => l.message === 'live rescale step recorded' && l.phase === phase, 120_000);
  cluster.kill(leader, 'SIGKILL');
  return line;
}

async function runCase(phase: 'preparing' | 'switching' | 'completing'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-rescale-kill-${phase}-`));
  dirs.push(dir);
  const cluster = await ProcessCluster.start({
    dir,
    coordinators: 2,
    workers: 3,
    slotsPerWorker: 2,
    etcdEndpoints: etcd,
    etcdNamespace: `/sluice-test-${process.pid}-${Date.now()}-${phase}/`,
    leaseTtlSeconds: 4,
  });
  clusters.push(cluster);
  const output = join(dir, 'output');
  const jobId = await cluster.submit({ test: { output, events: String(EVENTS), rate: String(RATE) } }, FROM);
  await waitFor(`job ${jobId} to run and complete a checkpoint`, 60_000, async () => {
    const job = await cluster.job(jobId);
    return job.state === 'running' && job.checkpoints.completed >= 1 && job.subtasks.length > 0 ? job : undefined;
  });
  const oldLeader = (await cluster.leaderIndex())!;
  const killed = killWhenRecorded(cluster, cluster.coordinators[oldLeader]!, phase);
  // The leader dies during this call: its answer never comes.
  const rescale = cluster.rest('POST', `/v1/jobs/${jobId}/rescale`, { parallelism: TO }).catch((error: Error) => error);
  const step = await Promise.race([
    killed,
    rescale.then((answer) => {
      throw new Error(`the rescale ended before the leader recorded ${phase}: ${answer instanceof Error ? answer.message : JSON.stringify(answer)}`);
    }),
  ]);
  await rescale;

  const newLeader = await waitFor('the standby to be elected', 60_000, async () => {
    const index = await cluster.leaderIndex();
    return index !== undefined && index !== oldLeader ? index : undefined;
  });
  const finished = await waitFor(`job ${jobId} to finish`, 120_000, async () => {
    const job = await cluster.job(jobId);
    if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
    return job.state === 'finished' ? job : undefined;
  }, 200).catch(async (error: Error) => {
    throw new Error(`${error.message}\n${await cluster.jobProgress(jobId)}\n${cluster.coordinatorLogTails(10)}`);
  });

  const resumed = cluster.logLines(cluster.coordinators[newLeader]!).find((l) => l.message === 'a live rescale was in flight at the leader change: restarting from the latest checkpoint');
  assert.ok(resumed, 'the new leader found the interrupted rescale in the job record');
  assert.equal(resumed.phase, phase);
  // Before the rescale's checkpoint is the pointer's nothing switched: back to the old parallelism.
  const switched = phase === 'completing';
  assert.equal(resumed.parallelism, switched ? TO : FROM, `after ${phase}: ${JSON.stringify(resumed)}`);
  assert.equal(finished.parallelism, switched ? TO : FROM);
  const comparison = compareCommittedOutput(output, expected);
  assert.deepEqual({ lost: comparison.lost, doubled: comparison.doubled }, { lost: 0, doubled: 0 }, JSON.stringify(comparison));
  assert.equal(comparison.committedRecords, comparison.expectedRecords);
  process.stderr.write(`# leader killed after recording ${phase} (checkpoint ${String(step.checkpointId)}): resumed at parallelism ${resumed.parallelism}, finished in attempt ${finished.attempt}\n`);
  await cluster.stop();
}

describe('a leader killed with kill -9 during a live rescale', { timeout: 300_000 }, () => {
  for (const phase of ['preparing', 'switching', 'completing'] as const) {
    it(`after recording ${phase}: the new leader restarts the job from the pointer, nothing lost or doubled`, () => runCase(phase));
  }
});
