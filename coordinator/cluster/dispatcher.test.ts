// The dispatcher alone, on a manual clock with scripted workers behind the typed worker gateway
// (testing-job-cluster.ts) and the embedded HA store: registrations, submissions and their
// idempotency keys, slots shared between jobs, and a new leader taking the jobs over once the
// workers registered again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobController } from '../job/job-controller.ts';
import type { Leadership } from '../ha/high-availability-services.ts';
import { Dispatcher, type SubmitRequest } from './dispatcher.ts';
import { KEYED_COUNT_APP } from './testing/process-cluster.ts';
import { TestingJobCluster } from './testing/testing-job-cluster.ts';

/** A TestingJobCluster whose workers acknowledge to a dispatcher's gateway, for one job at a time. */
class DispatcherCluster extends TestingJobCluster {
  dispatcher: Dispatcher | undefined;
  jobIdOfAcks = '';

  override acknowledge(request: Parameters<JobController['onAcknowledge']>[0]): void {
    this.dispatcher?.gatewayHandlers
      .AcknowledgeCheckpoint({ jobId: this.jobIdOfAcks, ...request }, { epoch: undefined, peer: 'testing' })
      .catch(() => {});
  }

  async lead(id: string): Promise<Dispatcher> {
    const leadership: Leadership = await this.campaign(id);
    const byAddress = new Map(this.workers.map((w) => [w.rpcAddress, w]));
    const dispatcher = new Dispatcher({
      coordinatorId: id,
      ha: this.store,
      leadership,
      clock: this.clock,
      logger: this.logger.child({ coordinator: id }),
      token: undefined,
      checkpointing: this.checkpointing,
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 1_000_000,
      workerRegistrationGraceMs: 2_000,
      restartStrategy: { kind: 'fixed-delay', attempts: 100, delayMs: 100 },
      onFenced: (error) => this.fenced.push(error),
      workerClient: (address) => byAddress.get(address)!,
    });
    this.dispatcher = dispatcher;
    return dispatcher;
  }

  /** Registers every worker with `dispatcher`, each with `slots` and what it runs. */
  async register(dispatcher: Dispatcher, slots: number): Promise<void> {
    for (const w of this.workers) {
      await dispatcher.gatewayHandlers.RegisterWorker(
        {
          workerId: w.workerId,
          rpcAddress: w.rpcAddress,
          dataAddress: `data://${w.workerId}`,
          metricsAddress: '',
          slots,
          running: w.report(this.jobIdOfAcks).map((r) => ({ ...r, subtasks: r.subtasks.map((s) => ({ ...s, unfinishedSplits: [], pendingRecords: -1 })) })),
        },
        { epoch: undefined, peer: 'testing' },
      );
    }
  }

  /**
   * Moves the clock (the dispatcher ticks on it) until `until` holds. Each step also lets real time
   * pass, since loading an application (a submission, a takeover) is real work.
   */
  async run(what: string, until: () => boolean, maxSteps = 20_000): Promise<void> {
    for (let step = 0; step < maxSteps && !until(); step++) {
      this.clock.advance(50);
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
    if (!until()) throw new Error(`gave up waiting for ${what}`);
  }

  /** Runs until `promise` settles. */
  async until<T>(what: string, promise: Promise<T>): Promise<T> {
    let outcome: { value: T } | { error: unknown } | undefined;
    promise.then((value) => (outcome = { value }), (error: unknown) => (outcome = { error }));
    await this.run(what, () => outcome !== undefined);
    if ('error' in outcome!) throw outcome.error;
    return outcome!.value;
  }
}

const submission = (extra: Partial<SubmitRequest> = {}): SubmitRequest => ({
  application: KEYED_COUNT_APP,
  parallelism: 2,
  properties: { test: { output: '/nonexistent', events: '100' } },
  ...extra,
});

const stateOf = (dispatcher: Dispatcher, jobId: string) => dispatcher.jobStatus(jobId).state;

describe('Dispatcher', () => {
  it('runs a submission on the registered workers; the same idempotency key answers with the same job', async () => {
    const cluster = new DispatcherCluster();
    const dispatcher = await cluster.lead('a');
    await cluster.until('the dispatcher to start', dispatcher.start());
    await cluster.register(dispatcher, 2);
    const first = await cluster.until('the submission', dispatcher.submit(submission({ idempotencyKey: 'key-1' })));
    cluster.jobIdOfAcks = first.jobId;
    const again = await cluster.until('the repeated submission', dispatcher.submit(submission({ idempotencyKey: 'key-1' })));
    assert.equal(again.jobId, first.jobId);
    assert.equal(dispatcher.listJobs().length, 1);
    await cluster.run('the job to run', () => stateOf(dispatcher, first.jobId) === 'running');
    // Two slots, one per worker (the one with the most free slots first): slot i runs subtask i of every task.
    const slotOf = cluster.workers.map((w) => [...new Set(w.callsOf('DeployTasks').flatMap((c) => c.request.subtasks.map((t) => t.subtask)))]);
    assert.deepEqual(slotOf, [[0], [1]]);
    const info = await cluster.until('a checkpoint', dispatcher.checkpoint(first.jobId));
    assert.ok(info.checkpointId >= 1);
    assert.equal(dispatcher.overview().slotsFree, 2, 'the job takes one slot of each worker');
  });

  it('a job that needs more slots than are free waits, and deploys when another job frees them', async () => {
    const cluster = new DispatcherCluster();
    const dispatcher = await cluster.lead('a');
    await cluster.until('the dispatcher to start', dispatcher.start());
    await cluster.register(dispatcher, 1);
    const first = await cluster.until('the first submission', dispatcher.submit(submission()));
    cluster.jobIdOfAcks = first.jobId;
    await cluster.run('the first job to run', () => stateOf(dispatcher, first.jobId) === 'running');
    const second = await cluster.until('the second submission', dispatcher.submit(submission()));
    assert.equal(second.state, 'restarting', 'no slot is free: it waits');
    assert.match(dispatcher.jobStatus(second.jobId).transitions.at(-1)!.reason, /not enough free slots \(2 needed/);
    await cluster.until('the first job to be cancelled', dispatcher.cancel(first.jobId));
    await cluster.run('the second job to run', () => stateOf(dispatcher, second.jobId) === 'running');
  });

  it('a new leader waits for the workers to register again, then adopts the running job as it is', async () => {
    const cluster = new DispatcherCluster();
    const old = await cluster.lead('a');
    await cluster.until('the dispatcher to start', old.start());
    await cluster.register(old, 2);
    const job = await cluster.until('the submission', old.submit(submission()));
    cluster.jobIdOfAcks = job.jobId;
    await cluster.run('the job to run', () => stateOf(old, job.jobId) === 'running');
    const attempt = old.jobStatus(job.jobId).attempt;
    old.dispose();
    cluster.embeddedStore.revokeLeadership('paused past its lease');

    const next = await cluster.lead('b');
    const started = next.start();
    await cluster.register(next, 2); // within the registration grace, reporting what they run
    await cluster.until('the new leader to take over', started);
    assert.equal(stateOf(next, job.jobId), 'running');
    assert.equal(next.jobStatus(job.jobId).attempt, attempt, 'adopted, not restarted');
    const info = await cluster.until('a checkpoint of the new leader', next.checkpoint(job.jobId));
    assert.ok(info.checkpointId >= 1);
    assert.ok(cluster.workers.every((w) => w.callsOf('DeployTasks').length === 1), 'nothing was deployed again');
  });
});
