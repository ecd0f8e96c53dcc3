// The contract every HighAvailabilityServices passes, run by each implementation's test file
// against its own backend: one leader at a time, growing epochs, standbys taking over, and fenced
// writes that an old leader cannot get through.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError, ConflictError, FencedError } from '../../shared/errors.ts';
import type { HighAvailabilityServices, LeaderCandidate, Leadership } from './high-availability-services.ts';

/** One backend (an etcd namespace, an in-memory store) that several coordinators share. */
export interface HighAvailabilityTestCluster {
  /** One coordinator's services on the shared backend (embedded: the same instance each time). */
  participant(): Promise<HighAvailabilityServices>;
  /** Ends `leadership` as an expired lease does, without its holder's help. */
  expireLease(leadership: Leadership): Promise<void>;
  /** Closes every participant and removes what the cluster wrote. */
  close(): Promise<void>;
}

const WAIT_MS = 10_000;
/** How long a campaign that must not win is watched for winning anyway. */
const STAYS_PENDING_MS = 300;

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function staysPending(promise: Promise<unknown>, forMs: number): Promise<boolean> {
  let settled = false;
  promise.then(() => { settled = true; }, () => { settled = true; });
  await new Promise((resolve) => setTimeout(resolve, forMs));
  return !settled;
}

function candidate(id: string): LeaderCandidate {
  return { id, address: `127.0.0.1:${id.length + 9000}`, restAddress: `http://127.0.0.1:${id.length + 8000}` };
}

export function highAvailabilityServicesContract(createCluster: () => Promise<HighAvailabilityTestCluster>): void {
  async function withCluster(body: (cluster: HighAvailabilityTestCluster) => Promise<void>): Promise<void> {
    const cluster = await createCluster();
    try {
      await body(cluster);
    } finally {
      await cluster.close();
    }
  }

  describe('high-availability services contract', () => {
    it('elects one leader among two candidates; the standby leads once the leader resigns', () =>
      withCluster(async (cluster) => {
        const a = await cluster.participant();
        const b = await cluster.participant();
        const campaignA = a.campaign(candidate('a'));
        const campaignB = b.campaign(candidate('b'));
        const first = await within(
          Promise.race([campaignA.then((l) => ({ l, standby: campaignB })), campaignB.then((l) => ({ l, standby: campaignA }))]),
          WAIT_MS,
          'a first leader',
        );
        assert.ok(await staysPending(first.standby, STAYS_PENDING_MS), 'both candidates were elected');
        assert.ok(first.l.isLeader());
        assert.equal(first.l.info.epoch, first.l.epoch);
        const seen = await b.leader();
        assert.deepEqual(seen, first.l.info);

        await first.l.resign();
        assert.match(await within(first.l.lost, WAIT_MS, 'lost after resign'), /resign/);
        assert.equal(first.l.isLeader(), false);
        const second = await within(first.standby, WAIT_MS, 'the standby to be elected');
        assert.ok(second.isLeader());
        assert.notEqual(second.info.id, first.l.info.id);
        assert.ok(second.epoch > first.l.epoch, `epoch ${second.epoch} after ${first.l.epoch}`);
        assert.deepEqual(await a.leader(), second.info);
        await second.resign();
      }));

    it('publishes the candidate and an epoch that grows from leader to leader', () =>
      withCluster(async (cluster) => {
        const services = await cluster.participant();
        assert.equal(await services.leader(), undefined);
        const epochs: number[] = [];
        for (const id of ['first', 'second', 'third']) {
          const leadership = await within(services.campaign(candidate(id)), WAIT_MS, `${id} elected`);
          assert.deepEqual(leadership.info, { ...candidate(id), epoch: leadership.epoch });
          assert.deepEqual(await services.leader(), leadership.info);
          epochs.push(leadership.epoch);
          await leadership.resign();
        }
        assert.ok(epochs[0]! < epochs[1]! && epochs[1]! < epochs[2]!, `epochs ${epochs.join(', ')}`);
        assert.equal(await services.leader(), undefined);
      }));

    it('a standby takes over when the leader loses its lease', () =>
      withCluster(async (cluster) => {
        const a = await cluster.participant();
        const b = await cluster.participant();
        const old = await within(a.campaign(candidate('a')), WAIT_MS, 'a elected');
        const standby = b.campaign(candidate('b'));
        assert.ok(await staysPending(standby, STAYS_PENDING_MS), 'the standby was elected while the leader held');

        await cluster.expireLease(old);
        const next = await within(standby, WAIT_MS, 'the standby elected after the lease expired');
        assert.equal(typeof (await within(old.lost, WAIT_MS, 'the old leader to see it lost')), 'string');
        assert.equal(old.isLeader(), false);
        assert.ok(next.epoch > old.epoch);
        assert.equal((await a.leader())?.id, 'b');
        await next.resign();
      }));

    it('a fenced write by an old leadership fails with FencedError and changes nothing', () =>
      withCluster(async (cluster) => {
        const a = await cluster.participant();
        const b = await cluster.participant();
        const old = await within(a.campaign(candidate('a')), WAIT_MS, 'a elected');
        await a.putFenced(old, 'checkpoints/latest', 'from-a');
        await a.putFenced(old, 'checkpoints/other', 'from-a');
        const standby = b.campaign(candidate('b'));
        await cluster.expireLease(old);
        const next = await within(standby, WAIT_MS, 'b elected');
        await b.putFenced(next, 'checkpoints/latest', 'from-b');

        const refused = await a.putFenced(old, 'checkpoints/latest', 'late-from-a').then(
          () => assert.fail('the old leader wrote'),
          (error: unknown) => error,
        );
        assert.ok(refused instanceof FencedError, `expected FencedError, got ${String(refused)}`);
        assert.equal(refused.key, 'checkpoints/latest');
        assert.equal(refused.epoch, old.epoch);
        assert.equal(refused.domain, 'internal');
        assert.equal(refused.retriable, false);
        assert.match(refused.message, /checkpoints\/latest/);
        assert.match(refused.message, new RegExp(`epoch ${old.epoch}\\b`));
        assert.match(refused.message, new RegExp(`${next.epoch}`));
        await assert.rejects(a.putFenced(old, 'checkpoints/latest', 'late', 'from-b'), FencedError);
        await assert.rejects(a.deleteFenced(old, 'checkpoints/other'), FencedError);
        await assert.rejects(a.getFenced(old, 'checkpoints/latest'), FencedError);
        assert.equal(await b.getFenced(next, 'checkpoints/latest'), 'from-b');
        assert.equal(await b.getFenced(next, 'checkpoints/absent'), undefined);
        // Fenced through the other participant too: the leadership, not the client, is what counts.
        await assert.rejects(b.putFenced(old, 'checkpoints/latest', 'late-via-b'), FencedError);

        assert.equal(await b.get('checkpoints/latest'), 'from-b');
        assert.equal(await b.get('checkpoints/other'), 'from-a');
        await next.resign();
        await assert.rejects(b.putFenced(next, 'checkpoints/latest', 'after-resign'), FencedError);
        assert.equal(await a.get('checkpoints/latest'), 'from-b');
      }));

    it('a fenced write with an expected value fails with ConflictError when the value differs', () =>
      withCluster(async (cluster) => {
        const services = await cluster.participant();
        const leadership = await within(services.campaign(candidate('a')), WAIT_MS, 'a elected');
        await services.putFenced(leadership, 'pointer', 'v1', null);
        const conflict = await services.putFenced(leadership, 'pointer', 'again', null).then(
          () => assert.fail('wrote over an existing value expected absent'),
          (error: unknown) => error,
        );
        assert.ok(conflict instanceof ConflictError, `expected ConflictError, got ${String(conflict)}`);
        assert.equal(conflict.key, 'pointer');
        assert.equal(conflict.expected, null);
        assert.equal(conflict.actual, 'v1');
        assert.equal(conflict.retriable, false);
        assert.match(conflict.message, /pointer/);

        await services.putFenced(leadership, 'pointer', 'v2', 'v1');
        await assert.rejects(services.putFenced(leadership, 'pointer', 'v3', 'v1'), (error: unknown) => {
          assert.ok(error instanceof ConflictError);
          assert.equal(error.actual, 'v2');
          return true;
        });
        await assert.rejects(services.putFenced(leadership, 'absent', 'x', 'something'), (error: unknown) => {
          assert.ok(error instanceof ConflictError);
          assert.equal(error.actual, undefined);
          return true;
        });
        assert.equal(await services.get('pointer'), 'v2');
        assert.equal(await services.get('absent'), undefined);
        assert.ok(leadership.isLeader(), 'a conflict does not end leadership');

        // Fencing comes first: an old leader learns it is old, not that the value moved.
        await leadership.resign();
        await assert.rejects(services.putFenced(leadership, 'pointer', 'v3', 'stale'), FencedError);
        assert.equal(await services.get('pointer'), 'v2');
      }));

    it('getPrefix returns the keys under a prefix as they were written, never the election', () =>
      withCluster(async (cluster) => {
        const services = await cluster.participant();
        const leadership = await within(services.campaign(candidate('a')), WAIT_MS, 'a elected');
        await services.putFenced(leadership, 'jobs/b', '2');
        await services.putFenced(leadership, 'jobs/a', '1');
        await services.putFenced(leadership, 'jobsx', 'x');
        await services.putFenced(leadership, 'other', 'o');
        assert.deepEqual(await services.getPrefix('jobs/'), new Map([['jobs/a', '1'], ['jobs/b', '2']]));
        assert.deepEqual(await services.getPrefix('nothing/'), new Map());
        assert.deepEqual(
          await services.getPrefix(''),
          new Map([['jobs/a', '1'], ['jobs/b', '2'], ['jobsx', 'x'], ['other', 'o']]),
        );
        await services.deleteFenced(leadership, 'jobs/a');
        await services.deleteFenced(leadership, 'jobs/never-written');
        assert.deepEqual(await services.getPrefix('jobs/'), new Map([['jobs/b', '2']]));
        assert.equal(await services.get('jobs/a'), undefined);
        await assert.rejects(services.putFenced(leadership, 'leader/forged', 'x'), ConfigurationError);
        await assert.rejects(services.putFenced(leadership, '', 'x'), ConfigurationError);
        await leadership.resign();
      }));

    it('an aborted campaign rejects and never leads', () =>
      withCluster(async (cluster) => {
        const a = await cluster.participant();
        const b = await cluster.participant();
        const leadership = await within(a.campaign(candidate('a')), WAIT_MS, 'a elected');
        const controller = new AbortController();
        const aborted = b.campaign(candidate('b'), controller.signal);
        assert.ok(await staysPending(aborted, STAYS_PENDING_MS));
        controller.abort(new Error('no longer wanted'));
        await assert.rejects(within(aborted, WAIT_MS, 'the aborted campaign to reject'), /no longer wanted/);
        await assert.rejects(b.campaign(candidate('b'), AbortSignal.abort()));

        const later = b.campaign(candidate('c'));
        await leadership.resign();
        const next = await within(later, WAIT_MS, 'c elected');
        assert.equal(next.info.id, 'c');
        await next.resign();
      }));

    it('closing the services ends their leadership', () =>
      withCluster(async (cluster) => {
        const services = await cluster.participant();
        const leadership = await within(services.campaign(candidate('a')), WAIT_MS, 'a elected');
        await services.close();
        assert.equal(typeof (await within(leadership.lost, WAIT_MS, 'lost after close')), 'string');
        assert.equal(leadership.isLeader(), false);
        await services.close(); // twice is fine
      }));
  });
}
