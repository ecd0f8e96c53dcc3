import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FencedError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/logging.ts';
import { EmbeddedHighAvailabilityServices } from '../ha/embedded-high-availability-services.ts';
import type { HighAvailabilityServices } from '../ha/high-availability-services.ts';
import { CompletedCheckpointStore } from './completed-checkpoint-store.ts';

const key = 'checkpoint-pointer/job-1';
const log = createLogger({ test: 'completed-checkpoint-store' }, 'error');

/** The store with scripted pointer writes: `commit` says whether the write happens before its answer is lost. */
function losingAnswers(store: HighAvailabilityServices) {
  const script: Array<{ commit: boolean }> = [];
  const ha = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'putFenced') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<HighAvailabilityServices['putFenced']>) => {
        const next = script.shift();
        if (next === undefined) return target.putFenced(...args);
        if (next.commit) await target.putFenced(...args);
        throw new Error(`etcd request timed out (${next.commit ? 'the write committed' : 'nothing written'})`);
      };
    },
  });
  return { ha, loseAnswer: (commit: boolean) => script.push({ commit }) };
}

async function leader(id: string, store: EmbeddedHighAvailabilityServices) {
  return store.campaign({ id, address: `testing://${id}` });
}

describe('CompletedCheckpointStore', () => {
  it('publishes checkpoints one after the other, each comparing the previous pointer', async () => {
    const store = new EmbeddedHighAvailabilityServices();
    const pointers = new CompletedCheckpointStore(store, await leader('a', store), key, log);
    assert.equal(await pointers.load(), undefined);
    await pointers.publish(1);
    await pointers.publish(2);
    assert.equal(pointers.latestId, 2);
    assert.equal(await store.get(key), '2');
  });

  it('a write whose answer is lost but which committed: the store is re-read and the publish succeeds', async () => {
    const store = new EmbeddedHighAvailabilityServices();
    const { ha, loseAnswer } = losingAnswers(store);
    const pointers = new CompletedCheckpointStore(ha, await leader('a', store), key, log);
    await pointers.publish(1);
    loseAnswer(true);
    await pointers.publish(2);
    assert.equal(pointers.latestId, 2);
    assert.equal(pointers.isUncertain, false);
    await pointers.publish(3);
    assert.equal(await store.get(key), '3');
  });

  it('a write whose answer is lost and which did not commit: the publish fails and the pointer stays the store\'s', async () => {
    const store = new EmbeddedHighAvailabilityServices();
    const { ha, loseAnswer } = losingAnswers(store);
    const pointers = new CompletedCheckpointStore(ha, await leader('a', store), key, log);
    await pointers.publish(1);
    loseAnswer(false);
    await assert.rejects(pointers.publish(2), /timed out/);
    assert.equal(pointers.latestId, 1);
    assert.equal(await store.get(key), '1');
    await pointers.publish(3);
    assert.equal(await store.get(key), '3');
  });

  it('a pointer moved by another writer after a lost answer is read before the next compare, not overwritten blindly', async () => {
    const store = new EmbeddedHighAvailabilityServices();
    const leadership = await leader('a', store);
    const { ha, loseAnswer } = losingAnswers(store);
    const pointers = new CompletedCheckpointStore(ha, leadership, key, log);
    await pointers.publish(1);
    loseAnswer(false);
    await store.putFenced(leadership, key, '5'); // e.g. the same leader's earlier write landing late
    await assert.rejects(pointers.publish(2));
    assert.equal(pointers.latestId, 5, 'the store\'s value, read after the lost answer');
    await pointers.publish(6);
    assert.equal(await store.get(key), '6');
  });

  it('a deposed leader publishes nothing and is told through the fenced hook', async () => {
    const store = new EmbeddedHighAvailabilityServices();
    const old = await leader('a', store);
    const fencedErrors: Error[] = [];
    const pointers = new CompletedCheckpointStore(store, old, key, log, async (call) => {
      try {
        return await call();
      } catch (error) {
        if (error instanceof FencedError) fencedErrors.push(error);
        throw error;
      }
    });
    await pointers.publish(1);
    await old.resign();
    await leader('b', store);
    await assert.rejects(pointers.publish(2), FencedError);
    assert.equal(fencedErrors.length, 1);
    assert.equal(await store.get(key), '1');
  });
});
