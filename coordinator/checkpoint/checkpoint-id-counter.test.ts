import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FencedError } from '../../shared/errors.ts';
import { EmbeddedHighAvailabilityServices } from '../ha/embedded-high-availability-services.ts';
import type { HighAvailabilityServices } from '../ha/high-availability-services.ts';
import { CheckpointIdCounter } from './checkpoint-id-counter.ts';

const key = 'checkpoint-counter/job-1';

/** The store, with its next `count` fenced writes committed and then answered with a timeout. */
function losingAnswers(store: HighAvailabilityServices): { ha: HighAvailabilityServices; loseNext(count?: number): void } {
  let losing = 0;
  const ha = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'putFenced') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<HighAvailabilityServices['putFenced']>) => {
        await target.putFenced(...args);
        if (losing > 0) {
          losing--;
          throw new Error('etcd request timed out (the write committed)');
        }
      };
    },
  });
  return { ha, loseNext: (count = 1) => { losing = count; } };
}

async function leader(id: string, store = new EmbeddedHighAvailabilityServices()) {
  return { store, leadership: await store.campaign({ id, address: `testing://${id}` }) };
}

describe('CheckpointIdCounter', () => {
  it('reserves ids one above the other, each written to the store before it is returned', async () => {
    const { store, leadership } = await leader('a');
    const counter = new CheckpointIdCounter(store, leadership, key);
    assert.equal(await counter.load(), 0);
    assert.equal(await counter.reserve(), 1);
    assert.equal(await counter.reserve(), 2);
    assert.equal(await counter.reserve(7), 7, 'at least what the caller asks');
    assert.equal(await counter.reserve(3), 8, 'never below what was reserved');
    assert.equal(counter.current, 8);
    assert.equal(await store.get(key), '8');
  });

  it('load takes the stored counter, or the floor it is given when that is higher', async () => {
    const { store, leadership } = await leader('a');
    await store.putFenced(leadership, key, '5');
    assert.equal(await new CheckpointIdCounter(store, leadership, key).load(), 5);
    assert.equal(await new CheckpointIdCounter(store, leadership, key).load(9), 9);
  });

  it('never reuses an id whose write committed but whose answer was lost', async () => {
    const { store, leadership } = await leader('a');
    const { ha, loseNext } = losingAnswers(store);
    const counter = new CheckpointIdCounter(ha, leadership, key);
    await counter.load();
    assert.equal(await counter.reserve(), 1);
    loseNext();
    await assert.rejects(counter.reserve(), /timed out/);
    assert.equal(counter.current, 1, 'not advanced: the write was not acknowledged');
    assert.equal(await store.get(key), '2', 'though the store has it');
    assert.equal(await counter.reserve(), 3);
    loseNext(2);
    await assert.rejects(counter.reserve(), /timed out/);
    await assert.rejects(counter.reserve(), /timed out/);
    assert.equal(await counter.reserve(), 6, 'above every id attempted');
  });

  it("a deposed leader's reservation fails with FencedError and advances nothing", async () => {
    const store = new EmbeddedHighAvailabilityServices();
    const a = await leader('a', store);
    const old = new CheckpointIdCounter(store, a.leadership, key);
    await old.load();
    await old.reserve();
    await old.reserve();
    store.revokeLeadership('lease expired');
    const b = await leader('b', store);
    await assert.rejects(old.reserve(), FencedError);
    assert.equal(old.current, 2);
    assert.equal(await store.get(key), '2');
    const next = new CheckpointIdCounter(store, b.leadership, key);
    await next.load();
    assert.equal(await next.reserve(), 3, 'the refused write took no id');
  });

  it("a new leader continues above the old leader's highest reserved id, one whose answer was lost included", async () => {
    const store = new EmbeddedHighAvailabilityServices();
    const a = await leader('a', store);
    const { ha, loseNext } = losingAnswers(store);
    const old = new CheckpointIdCounter(ha, a.leadership, key);
    await old.load();
    await old.reserve();
    loseNext();
    await assert.rejects(old.reserve(), /timed out/);
    store.revokeLeadership('lease expired');
    const b = await leader('b', store);
    const next = new CheckpointIdCounter(store, b.leadership, key);
    assert.equal(await next.load(), 2);
    assert.equal(await next.reserve(), 3);
  });

  it('reservations asked for at once run one at a time and get distinct ids', async () => {
    const { store, leadership } = await leader('a');
    const counter = new CheckpointIdCounter(store, leadership, key);
    await counter.load();
    const reserving = [counter.reserve(), counter.reserve(), counter.reserve()];
    assert.equal(counter.isReserving, true);
    assert.deepEqual(await Promise.all(reserving), [1, 2, 3]);
    assert.equal(counter.isReserving, false);
  });
});
