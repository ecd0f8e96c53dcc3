// Snapshots and rescaling on a cluster of real processes (one coordinator elected through a real
// etcd, three workers) with checkpoints and snapshots on a real S3-compatible server. The
// differential test runs one input twice: (a) without interruption and (b) stopped with a snapshot, restored at parallelism 3 onto LevelDB, rescaled live to 1 and
// then to 4, stopped with a snapshot again and restored onto the in-memory backend. Both
// committed outputs must be identical, and equal to what the generator says the job commits.
// Then the refusals: paths that are not snapshots, a snapshot of another application, a corrupted
// state file, another max parallelism, impossible rescales; each a clear error, nothing changed.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { S3ObjectStore } from '../../shared/object-store/index.ts';
import { requireEtcd } from '../../shared/testing/services.ts';
import { createTestBucket, requireS3, type TestBucket } from '../../shared/testing/s3-service.ts';
import { compareCommittedOutput, expectedBidCounts } from './testing/keyed-count-expectation.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { KEYED_COUNT_APP, ProcessCluster } from './testing/process-cluster.ts';

const SLOW_APP = fileURLToPath(new URL('./testing/slow-sink-app.ts', import.meta.url));
const EVENTS = 100_000;
const RATE = 2_500;
// The rate paces the source only (events do not depend on it). The interrupted runs are stopped
// with snapshots, never by the end of their input, so they read slowly: 100 s of input, and the
// snapshots and two live rescales (about 25 s here, 85 s once on a machine loaded with image
// builds) happen long before it ends. Slower, too few auctions reach state before the rescales
// for any key group to be staged. The uninterrupted run and the last restore read fast.
const SLOW_RATE = 1_000;
const FAST_RATE = 20_000;

let cluster: ProcessCluster;
let dir: string;
let expected: Map<number, number>;
let bucket: TestBucket;
let store: S3ObjectStore;

before(async () => {
  const s3 = await requireS3();
  const etcd = await requireEtcd();
  bucket = await createTestBucket(s3, 'snapshots');
  store = new S3ObjectStore({ bucket: bucket.name, prefix: '', endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
  dir = mkdtempSync(join(tmpdir(), 'sluice-snapshots-'));
  cluster = await ProcessCluster.start({
    dir,
    coordinators: 1,
    workers: 3,
    slotsPerWorker: 2,
    etcdEndpoints: etcd,
    etcdNamespace: `/sluice-test-${process.pid}-${Date.now()}/`,
    leaseTtlSeconds: 4,
    checkpointDirectory: `s3://${bucket.name}/checkpoints`,
    snapshotDirectory: `s3://${bucket.name}/snapshots`,
    // The bounded input must outlast two rescales and their checkpoints on a busy machine: checkpoints are not paced here.
    workerArgs: ['--checkpoint-rate-limit-mb', '0'],
  });
  expected = expectedBidCounts(EVENTS);
});

after(async () => {
  await cluster?.stop();
  await store?.close();
  if (!process.env.SLUICE_KEEP_TEST_DIRS) await bucket?.remove().catch(() => {});
  if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

// With 5 KB more state per auction, a key group with one auction is large enough to be a shared
// chunk of the LevelDB checkpoints, which live rescales stage ahead of the switch.
const properties = (output: string, rate = RATE) => ({ test: { output, events: String(EVENTS), rate: String(rate), statePaddingBytes: '5000' } });

async function submit(body: Record<string, unknown>): Promise<string> {
  const status = await cluster.rest('POST', '/v1/jobs', { application: KEYED_COUNT_APP, ...body });
  return status.jobId as string;
}

/** Waits until the job runs at `parallelism` and has completed `checkpoints` more checkpoints than `after`. */
async function running(jobId: string, parallelism: number, checkpoints = 1): Promise<any> {
  const start = (await cluster.job(jobId)).checkpoints.completed as number;
  return waitFor(`job ${jobId} to run at parallelism ${parallelism} and complete ${checkpoints} checkpoint(s)`, 60_000, async () => {
    const job = await cluster.job(jobId);
    if (job.state === 'failed') throw new Error(`job ${jobId} failed: ${job.failure}`);
    if (job.state === 'finished') throw new Error(`job ${jobId} finished (its input ran out) before it ran at parallelism ${parallelism} with ${checkpoints} more checkpoint(s)`);
    return job.state === 'running' && job.parallelism === parallelism && job.checkpoints.completed >= start + checkpoints ? job : undefined;
  });
}

async function finished(jobId: string): Promise<void> {
  await waitFor(`job ${jobId} to finish`, 120_000, async () => {
    const job = await cluster.job(jobId);
    if (job.state === 'failed') throw new Error(`job ${jobId} failed: ${job.failure}`);
    return job.state === 'finished' ? job : undefined;
  });
}

/** Every committed line of a sink directory, sorted: two runs' outputs compare as multisets. */
function committedLines(output: string): string[] {
  const lines: string[] = [];
  for (const name of readdirSync(output)) {
    if (!/^part-\d+-\d+\.jsonl$/.test(name)) continue;
    for (const line of readFileSync(join(output, name), 'utf8').split('\n')) if (line !== '') lines.push(line);
  }
  return lines.sort();
}

describe('snapshots and rescaling keep the output exactly what an uninterrupted run commits', { timeout: 300_000 }, () => {
  it('snapshot → restore at 3 → rescale to 1 → rescale to 4 → snapshot → other backend: identical output', async () => {
    const outputA = join(dir, 'uninterrupted');
    const outputB = join(dir, 'interrupted');
    const uninterrupted = await submit({ properties: properties(outputA, FAST_RATE), parallelism: 2 });

    const first = await submit({ properties: properties(outputB, SLOW_RATE), parallelism: 2 });
    await running(first, 2);
    const stop1 = await cluster.rest('POST', `/v1/jobs/${first}/stop`, { snapshot: true, name: 'diff-1' });
    assert.equal(stop1.state, 'stopped');
    assert.equal(stop1.snapshot.name, 'diff-1');
    assert.equal(stop1.snapshot.checkpointId, stop1.checkpointId);

    // The live rescales run on LevelDB: key groups leave by range deletes and arrive as LevelDB's own pairs.
    const second = await submit({ properties: properties(outputB, SLOW_RATE), parallelism: 3, restoreFrom: 'diff-1', stateBackend: 'leveldb' });
    const atThree = await running(second, 3);
    // Both rescales are live: the attempt goes on, only what changes owner moves.
    const toOne = await cluster.rest('POST', `/v1/jobs/${second}/rescale`, { parallelism: 1 });
    assert.deepEqual([toOne.from, toOne.to, toOne.mode], [3, 1, 'live'], JSON.stringify(toOne));
    assert.ok(toOne.keyGroupsMoved > 0, 'subtasks 2 and 3 hand their key groups to subtask 1');
    await running(second, 1);
    const toFour = await cluster.rest('POST', `/v1/jobs/${second}/rescale`, { parallelism: 4 });
    assert.deepEqual([toFour.from, toFour.to, toFour.mode], [1, 4, 'live'], JSON.stringify(toFour));
    assert.ok(toFour.keyGroupsMoved > 0);
    const atFour = await running(second, 4);
    assert.equal(atFour.attempt, atThree.attempt, 'no restart: the attempt that ran at 3 runs at 4');
    assert.equal(new Set(atFour.subtasks.map((s: any) => `${s.taskId}/${s.subtask}`)).size, atFour.subtasks.length);
    assert.ok(atFour.subtasks.some((s: any) => s.subtask === 3), 'a fourth subtask runs');
    const stop2 = await cluster.rest('POST', `/v1/jobs/${second}/stop`, { snapshot: true, name: 'diff-2' });
    assert.equal(stop2.snapshot.name, 'diff-2');
    assert.ok(stop2.checkpointId > stop1.checkpointId);

    const third = await submit({ properties: properties(outputB, FAST_RATE), parallelism: 2, restoreFrom: 'diff-2', stateBackend: 'memory' });
    await finished(third);
    await finished(uninterrupted);
    const workerLogs = cluster.workers.flatMap((w) => cluster.logLines(w));
    assert.ok(
      workerLogs.some((l) => l.message === 'attempt deployed' && l.job === second && l.stateBackend === 'leveldb' && String(l.restoredFrom).endsWith('/diff-1')),
      'the rescaled job restored diff-1 onto the LevelDB backend',
    );
    assert.ok(
      workerLogs.some((l) => l.message === 'attempt deployed' && l.job === third && l.stateBackend === 'memory' && String(l.restoredFrom).endsWith('/diff-2')),
      'the last job restored diff-2 onto the in-memory backend',
    );

    // Each live rescale staged gained key groups from the checkpoint before it (what was unchanged
    // at the switch stayed, the rest was replaced from the rescale checkpoint: the outputs below
    // compare both).
    const staged = workerLogs.filter((l) => l.message === 'key groups staged for the rescale' && l.job === second);
    assert.ok(staged.some((l) => l.keyGroups > 0), `no key group was staged: ${JSON.stringify(staged)}`);
    assert.equal(typeof toFour.keyGroupsStaged, 'number');

    for (const worker of cluster.workers) {
      const lines = cluster.logLines(worker).filter((l) => l.job === second);
      if (lines.some((l) => l.message === 'rescale prepared')) {
        assert.ok(lines.some((l) => l.message === 'attempt cancelled'), `${worker.id} took part in a rescale of the stopped job and cancelled its attempt, even with no subtasks left`);
      }
    }

    const a = compareCommittedOutput(outputA, expected);
    const b = compareCommittedOutput(outputB, expected);
    assert.deepEqual({ lost: a.lost, doubled: a.doubled }, { lost: 0, doubled: 0 }, `uninterrupted run: ${JSON.stringify(a)}`);
    assert.deepEqual({ lost: b.lost, doubled: b.doubled }, { lost: 0, doubled: 0 }, `interrupted run: ${JSON.stringify(b)}`);
    assert.deepEqual(committedLines(outputB), committedLines(outputA));
    assert.equal(b.committedRecords, b.expectedRecords);
  });

  it('takes checkpoints and snapshots on demand; lists, describes and deletes snapshots', async () => {
    const output = join(dir, 'on-demand');
    const jobId = await submit({ properties: properties(output), parallelism: 2 });
    await running(jobId, 2);
    const before = await cluster.job(jobId);
    const checkpoint = await cluster.rest('POST', `/v1/jobs/${jobId}/checkpoints`, {});
    assert.ok(checkpoint.checkpointId > (before.checkpoints.pointer ?? 0), 'a checkpoint on demand gets the next id');
    assert.ok((await cluster.job(jobId)).checkpoints.pointer >= checkpoint.checkpointId, 'and becomes the latest');
    const taken = await cluster.rest('POST', `/v1/jobs/${jobId}/snapshots`, {});
    assert.match(taken.name, /^keyed-count-app-chk\d+-\d{8}T\d{6}$/);
    assert.equal(taken.jobId, jobId);
    // Stateless operators (the filter and the map) leave nothing in a snapshot.
    assert.deepEqual(taken.operators.map((o: any) => o.uid).sort(), ['count-per-auction', 'counts', 'nexmark']);
    await assert.rejects(cluster.rest('POST', `/v1/jobs/${jobId}/snapshots`, { name: taken.name }), /400 .*exists already/);
    await assert.rejects(cluster.rest('POST', `/v1/jobs/${jobId}/snapshots`, { name: '../escape' }), /400 name: a snapshot name is/);
    assert.equal((await cluster.job(jobId)).state, 'running', 'taking a snapshot leaves the job running');

    const listed = (await cluster.rest('GET', '/v1/snapshots')).snapshots.map((s: any) => s.name);
    assert.ok(listed.includes(taken.name));
    const described = await cluster.rest('GET', `/v1/snapshots/${taken.name}`);
    assert.equal(described.checkpointId, taken.checkpointId);
    assert.ok(described.bytes > 0);
    await cluster.rest('DELETE', `/v1/snapshots/${taken.name}`);
    await assert.rejects(cluster.rest('GET', `/v1/snapshots/${taken.name}`), /404 no snapshot named/);
    await cluster.rest('POST', `/v1/jobs/${jobId}/cancel`);
  });

  it('refuses bad restores and rescales with a clear error and changes nothing', async () => {
    const output = join(dir, 'refusals');
    const jobId = await submit({ properties: properties(output), parallelism: 2 });
    await running(jobId, 2);
    const snapshot = await cluster.rest('POST', `/v1/jobs/${jobId}/snapshots`, { name: 'good' });
    const jobsBefore = (await cluster.rest('GET', '/v1/jobs')).jobs.length;

    const notThere = `s3://${bucket.name}/no-such-snapshot`;
    await assert.rejects(submit({ properties: properties(output), restoreFrom: notThere }), new RegExp(`400 restoreFrom: restore path ${notThere}: nothing there`));
    const notSnapshot = join(dir, 'not-a-snapshot');
    mkdirSync(notSnapshot);
    writeFileSync(join(notSnapshot, 'readme.txt'), 'hello');
    await assert.rejects(submit({ properties: properties(output), restoreFrom: notSnapshot }), /400 restoreFrom: restore path .* is not a checkpoint or snapshot/);
    await assert.rejects(submit({ properties: properties(output), restoreFrom: 'never-taken' }), /400 restoreFrom: restore path .*never-taken: nothing there/);

    // Another application: the snapshot's keyed state has no operator to go to.
    await assert.rejects(
      cluster.rest('POST', '/v1/jobs', { application: SLOW_APP, restoreFrom: 'good' }),
      /400 restoreFrom: .* has state for operator uid "count-per-auction" .* which this job does not have/,
    );
    // ... unless the user allows dropping it.
    const dropped = await cluster.rest('POST', '/v1/jobs', { application: SLOW_APP, restoreFrom: 'good', allowNonRestoredState: true, properties: { test: { rate: '100' } } });
    await cluster.rest('POST', `/v1/jobs/${dropped.jobId}/cancel`);

    // A copy of the snapshot with one byte of one state file flipped.
    assert.equal(snapshot.path, `s3://${bucket.name}/snapshots/good`);
    for (const object of await store.list('snapshots/good/')) {
      const bytes = Buffer.from(await store.get(object.key));
      if (object.key.includes('/count-per-auction/subtask-0')) bytes[bytes.length >> 1] ^= 0xff;
      await store.put(object.key.replace('snapshots/good/', 'snapshots/corrupted/'), bytes);
    }
    const corrupted = `s3://${bucket.name}/snapshots/corrupted`;
    await assert.rejects(submit({ properties: properties(output), restoreFrom: corrupted }), (e: Error) => {
      assert.match(e.message, /400 restoreFrom: state file s3:\/\/.*\/snapshots\/corrupted\/count-per-auction\/subtask-0\.state is corrupted/);
      return true;
    });
    await assert.rejects(submit({ properties: properties(output), restoreFrom: 'good', maxParallelism: 64 }), /400 restoreFrom: .* was taken with max parallelism 128, but this job has 64/);

    await assert.rejects(cluster.rest('POST', `/v1/jobs/${jobId}/rescale`, { parallelism: 0 }), /400 parallelism: must be an integer in \[1, 128\]/);
    await assert.rejects(cluster.rest('POST', `/v1/jobs/${jobId}/rescale`, { parallelism: 40 }), /400 parallelism: 40 needs 40 slots; the cluster has \d+ for this job/);
    await assert.rejects(cluster.rest('POST', '/v1/jobs/no-such-job/rescale', { parallelism: 2 }), /404/);

    assert.equal((await cluster.rest('GET', '/v1/jobs')).jobs.length, jobsBefore + 1, 'only the allowNonRestoredState submission created a job');
    const job = await cluster.job(jobId);
    assert.equal(job.state, 'running');
    assert.equal(job.parallelism, 2);
    assert.equal((await cluster.rest('GET', '/v1/snapshots/good')).checkpointId, snapshot.checkpointId, 'the snapshot is untouched');
    await cluster.rest('POST', `/v1/jobs/${jobId}/cancel`);
  });
});
