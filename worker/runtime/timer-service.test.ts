// The heap timer queue: timestamp order, one timer per (key, namespace, timestamp), deletes,
// keys that look alike but differ, and timers registered while a timestamp is being fired.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimerQueue, type Timer } from './timer-service.ts';

const drain = (queue: TimerQueue, upTo: number) => {
  const fired: string[] = [];
  for (let t: Timer | undefined = queue.pollDue(upTo); t !== undefined; t = queue.pollDue(upTo)) fired.push(`${t.timestamp}:${JSON.stringify(t.key)}:${t.namespace}`);
  return fired;
};

describe('TimerQueue', () => {
  it('fires due timers in timestamp order and keeps later ones', () => {
    const q = new TimerQueue();
    q.register(30, 'a', 1, 0);
    q.register(10, 'b', 2, 0);
    q.register(20, 'a', 1, 0);
    q.register(40, 'c', 3, 0);
    assert.deepEqual(drain(q, 30), ['10:"b":0', '20:"a":0', '30:"a":0']);
    assert.equal(q.size, 1);
    assert.equal(q.peekTimestamp(), 40);
  });

  it('keeps one timer per key, namespace and timestamp', () => {
    const q = new TimerQueue();
    q.register(10, 'a', 1, 0);
    q.register(10, 'a', 1, 0);
    q.register(10, 'a', 1, 'w');
    q.register(10, 1, 1, 0);
    q.register(10, '1', 1, 0);
    q.register(10, ['a', 1], 1, 0);
    q.register(10, '\u0001["a",1]', 1, 0); // a string that spells a composite key's encoding
    assert.equal(q.size, 6);
    assert.equal(drain(q, Infinity).length, 6);
  });

  it('forgets deleted timers, and an emptied timestamp does not stop the rest', () => {
    const q = new TimerQueue();
    q.register(10, 'a', 1, 0);
    q.register(20, 'b', 1, 0);
    q.delete(10, 'a', 0);
    q.delete(10, 'not-there', 0);
    assert.equal(q.peekTimestamp(), 20);
    assert.deepEqual(drain(q, 100), ['20:"b":0']);
    assert.equal(q.peekTimestamp(), Number.POSITIVE_INFINITY);
    assert.equal(q.pollDue(Number.POSITIVE_INFINITY), undefined);
  });

  it('fires timers registered for a timestamp while that timestamp is firing', () => {
    const q = new TimerQueue();
    for (let k = 0; k < 3; k++) q.register(10, k, 0, 0);
    const fired: string[] = [];
    for (let t = q.pollDue(10); t !== undefined; t = q.pollDue(10)) {
      fired.push(String(t.key));
      if (t.key === 0) {
        q.register(10, 'late-same-ns', 0, 0);
        q.register(10, 'late-other-ns', 0, 'x');
        q.register(5, 'earlier', 0, 0);
      }
    }
    assert.deepEqual(fired, ['0', '1', '2', 'late-same-ns', 'late-other-ns', 'earlier']);
  });

  it('snapshots every live timer with its key group', () => {
    const q = new TimerQueue();
    q.register(10, 'a', 7, 0);
    q.register(20, ['x', 2], 9, 'w');
    q.register(30, 'gone', 1, 0);
    q.delete(30, 'gone', 0);
    assert.deepEqual(q.snapshot('__t').map((s) => [s.keyGroup, ...s.entry]), [
      [7, '__t', 'a', 0, 10],
      [9, '__t', ['x', 2], 'w', 20],
    ]);
  });
});
