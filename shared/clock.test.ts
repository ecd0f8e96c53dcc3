import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, SystemClock, sleep } from './clock.ts';

/** Lets every queued microtask and one macrotask turn run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ManualClock', () => {
  it('starts at 0 or at the given time and moves only when told to', () => {
    assert.equal(new ManualClock().now(), 0);
    const clock = new ManualClock(1_000);
    assert.equal(clock.now(), 1_000);
    clock.advance(250);
    assert.equal(clock.now(), 1_250);
    clock.advanceTo(2_000);
    assert.equal(clock.now(), 2_000);
  });

  it('runs due callbacks in due order, ties in scheduling order, with now() at the due time', () => {
    const clock = new ManualClock(100);
    const log: string[] = [];
    const record = (name: string) => () => log.push(`${name}@${clock.now()}`);
    clock.schedule(30, record('a'));
    clock.schedule(10, record('b'));
    clock.schedule(20, record('c'));
    clock.schedule(10, record('d'));
    clock.schedule(0, record('e'));
    clock.schedule(30, record('f'));
    clock.advance(30);
    assert.deepEqual(log, ['e@100', 'b@110', 'd@110', 'c@120', 'a@130', 'f@130']);
    assert.equal(clock.now(), 130);
    assert.equal(clock.pendingTasks, 0);
  });

  it('does not run a callback before it is due', () => {
    const clock = new ManualClock();
    let calls = 0;
    clock.schedule(10, () => calls++);
    clock.advance(9);
    assert.equal(calls, 0);
    assert.equal(clock.pendingTasks, 1);
    clock.advance(1);
    assert.equal(calls, 1);
    assert.equal(clock.pendingTasks, 0);
    clock.advance(100);
    assert.equal(calls, 1, 'a callback runs once');
  });

  it('advance(0) runs callbacks scheduled with delay 0; a negative delay is treated as 0', () => {
    const clock = new ManualClock(50);
    const log: string[] = [];
    clock.schedule(0, () => log.push(`zero@${clock.now()}`));
    clock.schedule(-5, () => log.push(`negative@${clock.now()}`)); // due now, so after 'zero' (same due time)
    assert.deepEqual(log, [], 'schedule never runs a callback synchronously');
    clock.advance(0);
    assert.deepEqual(log, ['zero@50', 'negative@50']);
  });

  it('advance stops at the target and leaves later callbacks pending', () => {
    const clock = new ManualClock();
    const log: number[] = [];
    for (const due of [5, 15, 25]) clock.schedule(due, () => log.push(due));
    clock.advanceTo(15);
    assert.deepEqual(log, [5, 15]);
    assert.equal(clock.now(), 15);
    assert.equal(clock.pendingTasks, 1);
    clock.advanceTo(24);
    assert.deepEqual(log, [5, 15]);
    clock.advanceTo(25);
    assert.deepEqual(log, [5, 15, 25]);
  });

  it('cancel prevents the callback and is idempotent; other callbacks still run', () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const a = clock.schedule(10, () => log.push('a'));
    clock.schedule(10, () => log.push('b'));
    const c = clock.schedule(20, () => log.push('c'));
    assert.equal(clock.pendingTasks, 3);
    a.cancel();
    a.cancel();
    assert.equal(clock.pendingTasks, 2);
    clock.advance(15);
    assert.deepEqual(log, ['b']);
    c.cancel();
    assert.equal(clock.pendingTasks, 0);
    clock.advance(100);
    assert.deepEqual(log, ['b']);
  });

  it('cancel after the callback ran is a no-op', () => {
    const clock = new ManualClock();
    let calls = 0;
    const handle = clock.schedule(1, () => calls++);
    clock.advance(1);
    handle.cancel();
    clock.advance(10);
    assert.equal(calls, 1);
  });

  it('a callback can cancel a later callback due in the same advance', () => {
    const clock = new ManualClock();
    const log: string[] = [];
    let later: { cancel(): void } | undefined;
    clock.schedule(5, () => {
      log.push('first');
      later!.cancel();
    });
    later = clock.schedule(8, () => log.push('later'));
    clock.advance(10);
    assert.deepEqual(log, ['first']);
  });

  it('work scheduled by a callback during advance runs if it is due, in due order', () => {
    const clock = new ManualClock();
    const log: string[] = [];
    clock.schedule(10, () => {
      log.push(`outer@${clock.now()}`);
      clock.schedule(5, () => {
        log.push(`inner@${clock.now()}`);
        clock.schedule(0, () => log.push(`inner0@${clock.now()}`));
      });
      clock.schedule(50, () => log.push(`late@${clock.now()}`)); // due 60, beyond this advance
    });
    clock.schedule(18, () => log.push(`other@${clock.now()}`));
    clock.advance(20);
    assert.deepEqual(log, ['outer@10', 'inner@15', 'inner0@15', 'other@18']);
    assert.equal(clock.now(), 20);
    assert.equal(clock.pendingTasks, 1);
    clock.advance(40);
    assert.deepEqual(log.at(-1), 'late@60');
  });

  it('a self-rescheduling periodic callback fires once per period', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now());
      clock.schedule(100, tick);
    };
    clock.schedule(100, tick);
    clock.advance(450);
    assert.deepEqual(fired, [100, 200, 300, 400]);
    assert.equal(clock.pendingTasks, 1);
  });

  it('advanceTo an earlier time does not move the clock backwards', () => {
    const clock = new ManualClock(100);
    clock.advanceTo(40);
    assert.equal(clock.now(), 100);
  });
});

describe('sleep', () => {
  it('resolves only after the clock is advanced past the delay', async () => {
    const clock = new ManualClock();
    let resolved = false;
    const done = sleep(clock, 100).then(() => {
      resolved = true;
    });
    await flush();
    assert.equal(resolved, false);
    clock.advance(99);
    await flush();
    assert.equal(resolved, false);
    clock.advance(1);
    await done;
    assert.equal(resolved, true);
    assert.equal(clock.now(), 100);
  });

  it('several sleepers wake in due order', async () => {
    const clock = new ManualClock();
    const order: number[] = [];
    const all = Promise.all([30, 10, 20].map((d) => sleep(clock, d).then(() => order.push(d))));
    clock.advance(30);
    await all;
    assert.deepEqual(order, [10, 20, 30]);
  });
});

describe('SystemClock', () => {
  it('now() is close to Date.now()', () => {
    const before = Date.now();
    const now = SystemClock.INSTANCE.now();
    const after = Date.now();
    assert.ok(now >= before && now <= after, `${before} <= ${now} <= ${after}`);
    assert.ok(Math.abs(new SystemClock().now() - Date.now()) <= 50);
  });

  it('INSTANCE is a SystemClock', () => {
    assert.ok(SystemClock.INSTANCE instanceof SystemClock);
  });

  it('schedule runs the callback after about the delay; cancel prevents it', async () => {
    // SystemClock unrefs its timers, so keep the event loop alive with a ref'd timer of our own.
    const keepAlive = setTimeout(() => {}, 5_000);
    try {
      const start = Date.now();
      let cancelledRan = false;
      const cancelled = SystemClock.INSTANCE.schedule(5, () => {
        cancelledRan = true;
      });
      cancelled.cancel();
      const elapsed = await new Promise<number>((resolve) => SystemClock.INSTANCE.schedule(20, () => resolve(Date.now() - start)));
      assert.ok(elapsed >= 15, `fired after ${elapsed}ms`);
      assert.ok(elapsed < 2_000, `fired after ${elapsed}ms`);
      assert.equal(cancelledRan, false);
    } finally {
      clearTimeout(keepAlive);
    }
  });
});
