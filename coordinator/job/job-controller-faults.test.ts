// The job master under the control-plane interleavings that lost or stalled data (issue 12): a
// pointer write whose answer is lost, a leader deposed while deploying or while retiring
// checkpoints, a commit notification that fails, a trigger that does not reach a worker, and a
// leader lost in the middle of a live rescale. Each drives exactly that interleaving with
// scripted workers (testing-job-cluster.ts) on the embedded HA store and a manual clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256 } from '../../shared/checkpoint/checkpoint-storage.ts';
import { METADATA_FORMAT_VERSION, type CheckpointMetadata } from '../../shared/checkpoint/checkpoint-metadata.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';
import { checkpointPointerKey } from './job-record.ts';
import { TestingJobCluster, type TestingWorker } from '../cluster/testing/testing-job-cluster.ts';

function metadataOf(checkpointId: number, sharedChunks: string[] = []): CheckpointMetadata {
  return {
    formatVersion: METADATA_FORMAT_VERSION,
    checkpointId,
    jobName: 'keyed-count',
    maxParallelism: 128,
    triggeredAtMs: 0,
    completedAtMs: 0,
    final: false,
    operators: sharedChunks.length === 0 ? [] : [{ uid: 'count', name: 'count', parallelism: 1, subtasks: [{ subtask: 0, file: 'count-0', bytes: 0, sha256: sha256(new Uint8Array()), shared: sharedChunks }] }],
  };
}

/** What a new leader does: a checkpoint of its own, published in the pointer. */
async function publishAsNewLeader(cluster: TestingJobCluster, leadership: Leadership, checkpointId: number, sharedChunks: string[] = []): Promise<void> {
  await cluster.storage().writeMetadata(metadataOf(checkpointId, sharedChunks));
  await cluster.embeddedStore.putFenced(leadership, checkpointPointerKey(cluster.jobId), String(checkpointId));
}

async function pointerOf(cluster: TestingJobCluster): Promise<number | undefined> {
  const value = await cluster.embeddedStore.get(checkpointPointerKey(cluster.jobId));
  return value === undefined ? undefined : Number(value);
}

/** How many subtask indexes the workers were asked to deploy in `attempt`: its parallelism. */
function subtaskIndexesDeployed(cluster: TestingJobCluster, attempt: number): number {
  const deployed = cluster.workers.flatMap((w) => w.callsOf('DeployTasks').filter((c) => c.request.attempt === attempt).flatMap((c) => c.request.subtasks));
  return new Set(deployed.map((s) => s.subtask)).size;
}

function methods(worker: TestingWorker): string[] {
  return worker.calls.map((c) => `${c.method}${'checkpointId' in c.request ? ` ${c.request.checkpointId}` : ''}`);
}

describe('job controller fault interleavings (issue 12)', () => {
  it('a pointer write that commits but whose answer is lost: the store is re-read, the job goes on, and no published checkpoint is deleted', async () => {
    let loseNextPointerAnswer = true;
    const cluster = new TestingJobCluster({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, property, receiver) {
            if (property !== 'putFenced') return Reflect.get(target, property, receiver);
            return async (...args: Parameters<HighAvailabilityServices['putFenced']>) => {
              await target.putFenced(...args);
              if (args[1].startsWith('checkpoint-pointer/') && loseNextPointerAnswer) {
                loseNextPointerAnswer = false;
                throw new Error('etcd request timed out (the write committed)');
              }
            };
          },
        }),
    });
    const master = await cluster.controller(await cluster.campaign('a'));
    await cluster.settle(master, 'the job to start', master.start());
    const completed: number[] = [];
    for (let i = 0; i < 4; i++) {
      const info = await cluster.settle(master, `checkpoint ${i + 1}`, master.checkpoint());
      completed.push(info.checkpointId);
      const pointer = await pointerOf(cluster);
      assert.equal(pointer, info.checkpointId, 'the pointer names the checkpoint just completed');
      assert.ok((await cluster.storage().listCompleted()).includes(pointer!), `the checkpoint the pointer names (${pointer}) exists`);
    }
    assert.equal(loseNextPointerAnswer, false, 'the lost answer happened');
    assert.equal(master.getStatus().numRestarts, 0);
    assert.deepEqual(completed, [...completed].sort((a, b) => a - b));
  });

  it('a leader deposed while its workers deploy deletes no checkpoint of the new leader', async () => {
    const cluster = new TestingJobCluster();
    const old = await cluster.campaign('a');
    const master = await cluster.controller(old);
    const deploy = cluster.workers[0]!.hold('DeployTasks');
    const started = master.start().catch(() => {});
    await deploy.arrived;
    cluster.embeddedStore.revokeLeadership('paused past its lease');
    const next = await cluster.campaign('b');
    await publishAsNewLeader(cluster, next, 7);
    deploy.release();
    await started;
    await cluster.drive(master, 'the old leader to notice', () => cluster.fenced.length > 0);
    for (let i = 0; i < 20; i++) await master.tick();
    assert.deepEqual(await cluster.storage().listCompleted(), [7], "the new leader's checkpoint is still there");
    assert.equal(await pointerOf(cluster), 7);
  });

  it("a leader deposed before it retires old checkpoints deletes none of them, nor the new leader's shared chunks", async () => {
    const cluster = new TestingJobCluster({ checkpointing: { retainedCheckpoints: 1 } });
    const old = await cluster.campaign('a');
    const master = await cluster.controller(old);
    await cluster.settle(master, 'the job to start', master.start());
    const first = await cluster.settle(master, 'the first checkpoint', master.checkpoint());
    const notify = cluster.workers[0]!.hold('NotifyCheckpointComplete');
    const second = master.checkpoint();
    second.catch(() => {});
    await cluster.drive(master, 'the second checkpoint to be committed', () => cluster.workers[0]!.callsOf('NotifyCheckpointComplete').length === 2);
    await notify.arrived;
    // Paused between publishing checkpoint 2 and retiring checkpoint 1; a new leader takes over.
    cluster.embeddedStore.revokeLeadership('paused past its lease');
    const next = await cluster.campaign('b');
    const chunk = new TextEncoder().encode('state of the new leader');
    await cluster.storage().writeShared(sha256(chunk), chunk);
    await publishAsNewLeader(cluster, next, 9, [sha256(chunk)]);
    notify.release();
    await cluster.drive(master, 'the old leader to notice', () => cluster.fenced.length > 0);
    const completed = await cluster.storage().listCompleted();
    assert.ok(completed.includes(first.checkpointId), `checkpoint ${first.checkpointId} is still there (${completed})`);
    assert.ok(completed.includes(9));
    assert.deepEqual(await cluster.storage().readShared(sha256(chunk)), chunk, "the new leader's shared chunk is still there");
  });

  it('a worker whose first commit notification fails gets it again: the checkpoint commits everywhere without a restart', async () => {
    const cluster = new TestingJobCluster();
    const master = await cluster.controller(await cluster.campaign('a'));
    await cluster.settle(master, 'the job to start', master.start());
    cluster.workers[1]!.failNext('NotifyCheckpointComplete');
    const info = await cluster.settle(master, 'the checkpoint', master.checkpoint());
    const notified = cluster.workers[1]!.callsOf('NotifyCheckpointComplete').map((c) => Number(c.request.checkpointId));
    assert.deepEqual(notified, [info.checkpointId, info.checkpointId]);
    assert.equal(master.getStatus().numRestarts, 0);
  });

  it('stop commits on a worker an RPC error dropped from the registry, before the attempt is cancelled', async () => {
    const cluster = new TestingJobCluster({ checkpointing: { tolerableFailedCheckpoints: 5 } });
    const master = await cluster.controller(await cluster.campaign('a'));
    await cluster.settle(master, 'the job to start', master.start());
    cluster.workers[1]!.failNext('TriggerCheckpoint'); // the job master drops worker-2 from its registry
    await assert.rejects(cluster.settle(master, 'the failed checkpoint', master.checkpoint()), /checkpoint 1 (declined|expired)/);
    const stopped = await cluster.settle(master, 'the stop', master.stop());
    assert.equal(stopped.state, 'stopped');
    const calls = methods(cluster.workers[1]!);
    const committed = calls.indexOf(`NotifyCheckpointComplete ${stopped.checkpointId}`);
    assert.ok(committed >= 0, `worker-2 was told to commit checkpoint ${stopped.checkpointId}: ${calls.join(', ')}`);
    assert.ok(committed < calls.indexOf('CancelJob'), `before it was cancelled: ${calls.join(', ')}`);
  });

  it('a trigger that fails on one worker declines the checkpoint and aborts it on every worker; so does one that expires', async () => {
    const cluster = new TestingJobCluster({ checkpointing: { tolerableFailedCheckpoints: 5, checkpointTimeoutMs: 10_000 } });
    const master = await cluster.controller(await cluster.campaign('a'));
    await cluster.settle(master, 'the job to start', master.start());
    cluster.workers[1]!.failNext('TriggerCheckpoint');
    await assert.rejects(cluster.settle(master, 'the declined checkpoint', master.checkpoint()), /declined/);
    const declined = Number(cluster.workers[0]!.callsOf('TriggerCheckpoint').at(-1)!.request.checkpointId);
    for (const worker of cluster.workers) assert.deepEqual(worker.callsOf('AbortCheckpoint').map((c) => Number(c.request.checkpointId)), [declined], worker.workerId);

    const held = cluster.workers[1]!.hold('TriggerCheckpoint');
    const expiring = master.checkpoint();
    await assert.rejects(cluster.settle(master, 'the checkpoint to expire', expiring), /expired/);
    held.release();
    const expired = Number(cluster.workers[0]!.callsOf('TriggerCheckpoint').at(-1)!.request.checkpointId);
    for (const worker of cluster.workers) assert.deepEqual(worker.callsOf('AbortCheckpoint').map((c) => Number(c.request.checkpointId)), [declined, expired], worker.workerId);

    const info = await cluster.settle(master, 'the next checkpoint', master.checkpoint());
    assert.ok(info.checkpointId > expired);
    assert.ok(cluster.workers[1]!.callsOf('TriggerCheckpoint').some((c) => Number(c.request.checkpointId) === info.checkpointId), 'worker-2 was triggered again');
  });

  it('a checkpoint that waits for a lost acknowledgement while every subtask finishes is declined: the final checkpoint ends the job', async () => {
    const cluster = new TestingJobCluster({ checkpointing: { tolerableFailedCheckpoints: 5, checkpointTimeoutMs: 600_000 } });
    const master = await cluster.controller(await cluster.campaign('a'));
    await cluster.settle(master, 'the job to start', master.start());
    const lost = cluster.workers[1]!.hold('TriggerCheckpoint'); // its acknowledgements never come
    await cluster.drive(master, 'a periodic checkpoint to wait for worker-2', () => master.getStatus().checkpoints.inProgress !== null);
    await lost.arrived;
    const waiting = master.getStatus().checkpoints.inProgress!;
    const subtasks = cluster.workers.flatMap((w) => w.subtasks);
    master.onSubtasksFinished(master.currentAttempt, subtasks);
    await cluster.drive(master, 'the job to finish', () => master.currentState === 'finished');
    const final = Number(cluster.workers[0]!.callsOf('NotifyCheckpointComplete').at(-1)!.request.checkpointId);
    assert.ok(final > waiting, `the final checkpoint ${final} came after the declined ${waiting}`);
    assert.ok(cluster.workers[0]!.callsOf('AbortCheckpoint').some((c) => Number(c.request.checkpointId) === waiting));
    lost.release();
  });

  it('rescales by restart, not live, once a subtask has finished (a new subtask would wait for its end forever)', async () => {
    const cluster = new TestingJobCluster({ parallelism: 2 });
    const master = await cluster.controller(await cluster.campaign('a'));
    await cluster.settle(master, 'the job to start', master.start());
    await cluster.settle(master, 'a checkpoint', master.checkpoint());
    const source = cluster.workers.flatMap((w) => w.subtasks).find((s) => s.taskId === 0)!;
    master.onSubtasksFinished(master.currentAttempt, [source]);
    const result = await cluster.settle(master, 'the rescale', master.rescale(3));
    assert.equal(result.mode, 'restart');
    assert.match(result.reason ?? '', new RegExp(`subtask\\(s\\) ${source.taskId}/${source.subtask} finished: new subtasks' inputs from them would never end`));
    assert.equal(master.getStatus().parallelism, 3);
  });

  it('a failure while the workers complete a live rescale: the rescale answers what happened and the job restarts at the new parallelism', async () => {
    const cluster = new TestingJobCluster({ parallelism: 2 });
    const master = await cluster.controller(await cluster.campaign('a'));
    await cluster.settle(master, 'the job to start', master.start());
    await cluster.settle(master, 'a checkpoint', master.checkpoint());
    const held = cluster.workers[0]!.hold('CompleteRescale');
    const rescale = master.rescale(4);
    rescale.catch(() => {});
    await cluster.drive(master, 'the rescale to reach CompleteRescale', () => cluster.workers[0]!.callsOf('CompleteRescale').length > 0);
    await master.failover(new Error('worker worker-2 stopped sending heartbeats'));
    held.release();
    await assert.rejects(cluster.settle(master, 'the rescale', rescale), /the live rescale 2 → 4 completed while the job failed \(it is (restarting|deploying|running)\); it restarts at parallelism 4/);
    await cluster.drive(master, 'the job to run again', () => master.currentState === 'running');
    assert.equal(master.getStatus().parallelism, 4);
  });

  describe('a leader lost in the middle of a live rescale from 2 to 4', () => {
    async function interruptedAt(step: 'prepared' | 'switched' | 'completed') {
      const cluster = new TestingJobCluster({ parallelism: 2 });
      const master = await cluster.controller(await cluster.campaign('a'));
      await cluster.settle(master, 'the job to start', master.start());
      await cluster.settle(master, 'a checkpoint', master.checkpoint());
      const heldMethod = step === 'prepared' ? 'TriggerCheckpoint' : 'CompleteRescale';
      const held = step === 'completed' ? undefined : cluster.workers[0]!.hold(heldMethod);
      const rescale = master.rescale(4);
      rescale.catch(() => {});
      if (held) await cluster.drive(master, `the rescale to reach ${heldMethod}`, () => cluster.workers[0]!.callsOf(heldMethod).length > (step === 'prepared' ? 1 : 0));
      else await cluster.settle(master, 'the rescale', rescale);
      // The leader stops here; a new one takes over from what etcd has.
      cluster.embeddedStore.revokeLeadership('paused past its lease');
      const next = await cluster.controller(await cluster.campaign('b'));
      const outcome = await next.takeOver(await cluster.record());
      await cluster.drive(next, 'the job to run under the new leader', () => next.currentState === 'running');
      held?.release();
      return { cluster, next, outcome };
    }

    it('after prepare (the switch never happened): the new leader restarts the job at parallelism 2', async () => {
      const { next, outcome, cluster } = await interruptedAt('prepared');
      assert.equal(outcome, 'restarted');
      assert.equal(next.getStatus().parallelism, 2);
      assert.equal(subtaskIndexesDeployed(cluster, next.currentAttempt), 2);
    });

    it('every change of state is in the job record with from, to, reason and time, across the leader change', async () => {
      const { cluster } = await interruptedAt('prepared');
      const transitions = (await cluster.record()).transitions ?? [];
      assert.deepEqual(
        transitions.map((t) => `${t.from} → ${t.to}`),
        [
          'created → deploying',
          'deploying → running',
          'running → live-rescale-preparing',
          'live-rescale-preparing → live-rescale-switching',
          'live-rescale-switching → restarting',
          'restarting → deploying',
          'deploying → running',
        ],
        JSON.stringify(transitions),
      );
      const restart = transitions[4]!;
      assert.match(restart.reason, /leader change during a live rescale 2 → 4 \(switching\).*never became the pointer's, so back at 2/);
      assert.match(transitions[6]!.reason, /every worker deployed attempt 2/);
      for (let i = 1; i < transitions.length; i++) assert.ok(transitions[i]!.atMs >= transitions[i - 1]!.atMs, 'in the order they happened');
    });

    it('after the switch (the rescale checkpoint is published): the new leader restarts the job at parallelism 4', async () => {
      const { next, outcome, cluster } = await interruptedAt('switched');
      assert.equal(outcome, 'restarted');
      assert.equal(next.getStatus().parallelism, 4);
      assert.equal(subtaskIndexesDeployed(cluster, next.currentAttempt), 4);
    });

    it('after completion: the new leader adopts the running attempt at parallelism 4, and its checkpoints count all four subtasks', async () => {
      const { next, outcome, cluster } = await interruptedAt('completed');
      assert.equal(outcome, 'adopted');
      assert.equal(next.getStatus().parallelism, 4);
      const info = await cluster.settle(next, 'a checkpoint of the new leader', next.checkpoint());
      assert.ok(info.checkpointId > 0);
    });
  });

  describe('a new leader resumes the state the record was left in', () => {
    it('restarting (the old leader failed over and went before redeploying): the new leader deploys the next attempt', async () => {
      const cluster = new TestingJobCluster();
      const master = await cluster.controller(await cluster.campaign('a'));
      await cluster.settle(master, 'the job to start', master.start());
      await master.onTaskFailure(master.currentAttempt, 'worker-1', 'boom');
      assert.equal((await cluster.record()).state, 'restarting');
      cluster.embeddedStore.revokeLeadership('paused past its lease');
      const next = await cluster.controller(await cluster.campaign('b'));
      assert.equal(await next.takeOver(await cluster.record()), 'restarted');
      await cluster.drive(next, 'the job to run under the new leader', () => next.currentState === 'running');
      assert.equal(next.currentAttempt, 2);
    });

    it("stopping (the stop's checkpoint was in flight): the new leader adopts the attempt as running, and a stop asked again stops it", async () => {
      const cluster = new TestingJobCluster();
      const master = await cluster.controller(await cluster.campaign('a'));
      await cluster.settle(master, 'the job to start', master.start());
      const held = cluster.workers[0]!.hold('TriggerCheckpoint');
      master.stop().catch(() => {});
      await cluster.drive(master, "the stop's checkpoint to be triggered", () => master.currentState === 'stopping' && cluster.workers[0]!.callsOf('TriggerCheckpoint').length > 0);
      assert.equal((await cluster.record()).state, 'stopping');
      cluster.embeddedStore.revokeLeadership('paused past its lease');
      const next = await cluster.controller(await cluster.campaign('b'));
      assert.equal(await next.takeOver(await cluster.record()), 'adopted');
      assert.equal(next.currentState, 'running');
      held.release();
      const stopped = await cluster.settle(next, 'the stop', next.stop());
      assert.equal(stopped.state, 'stopped');
      assert.deepEqual((await cluster.record()).transitions!.slice(-3).map((t) => `${t.from} → ${t.to}`), ['stopping → running', 'running → stopping', 'stopping → stopped']);
    });
  });
});
