import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SerialBatchSender } from './serial-batch-sender.ts';

/** A send whose calls finish when the test says. */
function gatedSend() {
  const started: number[] = [];
  const gates: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  const send = (batch: number) => {
    started.push(batch);
    return new Promise<void>((resolve, reject) => gates.push({ resolve, reject }));
  };
  return { started, gates, send };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('SerialBatchSender', () => {
  it('sends one batch at a time, in order', async () => {
    const { started, gates, send } = gatedSend();
    const sender = new SerialBatchSender(send);
    sender.enqueue(1);
    sender.enqueue(2);
    await turn();
    assert.deepEqual(started, [1], 'the second waits for the first');
    gates[0]!.resolve();
    await turn();
    assert.deepEqual(started, [1, 2]);
    gates[1]!.resolve();
    await sender.drain();
  });

  it('drain waits for every batch enqueued before it', async () => {
    const { gates, send } = gatedSend();
    const sender = new SerialBatchSender(send);
    sender.enqueue(1);
    let drained = false;
    const drain = sender.drain().then(() => (drained = true));
    await turn();
    assert.equal(drained, false);
    gates[0]!.resolve();
    await drain;
    assert.equal(drained, true);
  });

  it('keeps the first failure, drops later batches, and throws it from drain and throwIfFailed', async () => {
    const { started, gates, send } = gatedSend();
    const sender = new SerialBatchSender(send);
    sender.enqueue(1);
    sender.enqueue(2);
    sender.throwIfFailed();
    await turn();
    const first = new Error('first');
    gates[0]!.reject(first);
    await assert.rejects(sender.drain(), (error) => error === first);
    assert.deepEqual(started, [1], 'the batch after the failure is not sent');
    assert.throws(() => sender.throwIfFailed(), (error) => error === first);
    sender.enqueue(3);
    await sender.settled();
    assert.deepEqual(started, [1]);
  });

  it('wraps a thrown non-error, and settled never throws', async () => {
    const sender = new SerialBatchSender<number>(() => Promise.reject('refused'));
    sender.enqueue(1);
    await sender.settled();
    assert.throws(() => sender.throwIfFailed(), (error) => error instanceof Error && error.message === 'refused');
  });
});
