// The checkpoint rate limit on a manual clock: a second's burst at once, then the rate.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { TokenBucketRateLimiter } from './checkpoint-rate-limiter.ts';

describe('TokenBucketRateLimiter', () => {
  it('lets a second of bytes through at once, then paces writes at the rate, in order', async () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketRateLimiter(1000, clock);
    const done: string[] = [];
    await limiter.acquire(1000); // the burst
    const second = limiter.acquire(500).then(() => done.push(`500 at ${clock.now()}`));
    const third = limiter.acquire(1000).then(() => done.push(`1000 at ${clock.now()}`));
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(done, [], 'nothing more until time passes');
    for (let t = 0; t < 16 && done.length < 2; t++) {
      clock.advance(100);
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
    await Promise.all([second, third]);
    assert.deepEqual(done, ['500 at 500', '1000 at 1500']);
  });

  it('paces only while the worker is saturated', async () => {
    const clock = new ManualClock(0);
    let saturated = false;
    const limiter = new TokenBucketRateLimiter(1000, clock, () => saturated);
    for (let i = 0; i < 5; i++) await limiter.acquire(1000); // idle time to spare: no waiting at all
    assert.equal(clock.now(), 0);
    saturated = true;
    await limiter.acquire(1000); // the bucket is full: a second's burst
    let paced = false;
    const next = limiter.acquire(1000).then(() => (paced = true));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.equal(paced, false, 'saturated: the next write waits for the rate');
    saturated = false;
    clock.advance(1000);
    await next;
    assert.equal(paced, true);
  });

  it('refuses a rate that is not positive', () => {
    assert.throws(() => new TokenBucketRateLimiter(0, new ManualClock(0)), /bytesPerSecond must be positive/);
  });
});
