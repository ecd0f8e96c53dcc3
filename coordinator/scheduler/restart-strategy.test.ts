import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.ts';
import { ConfigurationError } from '../../shared/errors.ts';
import { createRestartStrategy } from './restart-strategy.ts';
import { DEFAULT_RESTART_STRATEGY, parseRestartStrategy, type ExponentialDelayRestartConfig } from '../../shared/config/restart-strategy-config.ts';

const failure = new Error('task failed');

/** A random source that returns the given values in turn. */
const fixedRandom = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

const exponential = (overrides: Partial<ExponentialDelayRestartConfig> = {}): ExponentialDelayRestartConfig => ({
  ...DEFAULT_RESTART_STRATEGY,
  jitterFactor: 0,
  ...overrides,
});

/** Asserts that `fn` throws a ConfigurationError for `field` whose message matches `message`. */
function assertConfigError(fn: () => unknown, field: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, `expected a ConfigurationError, got ${String(error)}`);
    assert.equal(error.field, field);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('none', () => {
  it('never restarts', () => {
    const strategy = createRestartStrategy({ kind: 'none' }, new ManualClock());
    assert.equal(strategy.canRestart(), false);
    strategy.notifyFailure(failure);
    assert.equal(strategy.canRestart(), false);
    assert.match(strategy.describe(), /^none/);
  });
});

describe('fixed-delay', () => {
  it('restarts `attempts` times with the same delay, then stops', () => {
    const strategy = createRestartStrategy({ kind: 'fixed-delay', attempts: 3, delayMs: 10_000 }, new ManualClock());
    for (let i = 1; i <= 3; i++) {
      strategy.notifyFailure(failure);
      assert.equal(strategy.canRestart(), true, `after failure ${i}`);
      assert.equal(strategy.backoffTimeMs(), 10_000);
    }
    strategy.notifyFailure(failure);
    assert.equal(strategy.canRestart(), false);
    assert.match(strategy.describe(), /fixed-delay \(3 attempts, 10000 ms apart; 4 failures so far\)/);
  });

  it('with 0 attempts fails on the first failure', () => {
    const strategy = createRestartStrategy({ kind: 'fixed-delay', attempts: 0, delayMs: 0 }, new ManualClock());
    assert.equal(strategy.canRestart(), true);
    strategy.notifyFailure(failure);
    assert.equal(strategy.canRestart(), false);
  });
});

describe('exponential-delay', () => {
  it('doubles the backoff with each failure and caps it at maxBackoffMs', () => {
    const clock = new ManualClock();
    const strategy = createRestartStrategy(exponential({ initialBackoffMs: 1_000, maxBackoffMs: 10_000 }), clock);
    const backoffs: number[] = [];
    for (let i = 0; i < 7; i++) {
      strategy.notifyFailure(failure);
      assert.equal(strategy.canRestart(), true);
      backoffs.push(strategy.backoffTimeMs());
      clock.advance(strategy.backoffTimeMs() + 5_000); // restarts, runs 5 s, fails again
    }
    assert.deepEqual(backoffs, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  });

  it('uses the configured multiplier', () => {
    const clock = new ManualClock();
    const strategy = createRestartStrategy(exponential({ initialBackoffMs: 100, backoffMultiplier: 1.5 }), clock);
    const backoffs: number[] = [];
    for (let i = 0; i < 4; i++) {
      strategy.notifyFailure(failure);
      backoffs.push(strategy.backoffTimeMs());
    }
    assert.deepEqual(backoffs, [100, 150, 225, 338]);
  });

  it('goes back to the initial backoff after a run of resetBackoffThresholdMs without failure', () => {
    const clock = new ManualClock();
    const strategy = createRestartStrategy(exponential({ initialBackoffMs: 1_000, resetBackoffThresholdMs: 60_000 }), clock);
    strategy.notifyFailure(failure);
    strategy.notifyFailure(failure);
    strategy.notifyFailure(failure);
    assert.equal(strategy.backoffTimeMs(), 4_000);
    // The restart happens 4 s after the failure; 59.999 s of running after it is not yet stable.
    clock.advance(4_000 + 59_999);
    strategy.notifyFailure(failure);
    assert.equal(strategy.backoffTimeMs(), 8_000);
    clock.advance(8_000 + 60_000);
    strategy.notifyFailure(failure);
    assert.equal(strategy.backoffTimeMs(), 1_000);
  });

  it('caps the failures between resets at `attempts`, and a reset renews them', () => {
    const clock = new ManualClock();
    const strategy = createRestartStrategy(exponential({ attempts: 2, resetBackoffThresholdMs: 10_000 }), clock);
    strategy.notifyFailure(failure);
    strategy.notifyFailure(failure);
    assert.equal(strategy.canRestart(), true);
    strategy.notifyFailure(failure);
    assert.equal(strategy.canRestart(), false);
    clock.advance(strategy.backoffTimeMs() + 10_000);
    strategy.notifyFailure(failure);
    assert.equal(strategy.canRestart(), true);
    assert.equal(strategy.backoffTimeMs(), 1_000);
  });

  it('without `attempts` always restarts', () => {
    const strategy = createRestartStrategy(exponential(), new ManualClock());
    for (let i = 0; i < 1_000; i++) strategy.notifyFailure(failure);
    assert.equal(strategy.canRestart(), true);
    assert.equal(strategy.backoffTimeMs(), 60_000);
  });

  it('jitters each backoff within ± jitterFactor, never above maxBackoffMs', () => {
    const config = exponential({ initialBackoffMs: 1_000, maxBackoffMs: 4_000, jitterFactor: 0.1 });
    const backoffFor = (random: number, failures: number) => {
      const strategy = createRestartStrategy(config, new ManualClock(), { random: () => random });
      for (let i = 0; i < failures; i++) strategy.notifyFailure(failure);
      return strategy.backoffTimeMs();
    };
    assert.equal(backoffFor(0, 1), 900);
    assert.equal(backoffFor(0.5, 1), 1_000);
    assert.equal(backoffFor(0.999_999, 1), 1_100);
    assert.equal(backoffFor(0, 2), 1_800);
    assert.equal(backoffFor(0.999_999, 2), 2_200);
    // At the cap the jitter only goes down.
    assert.equal(backoffFor(0, 5), 3_600);
    assert.equal(backoffFor(0.999_999, 5), 4_000);

    const strategy = createRestartStrategy(config, new ManualClock(), { random: Math.random });
    let expected = 1_000;
    for (let i = 0; i < 200; i++) {
      strategy.notifyFailure(failure);
      const backoff = strategy.backoffTimeMs();
      assert.ok(backoff >= expected * 0.9 && backoff <= Math.min(expected * 1.1, 4_000), `${backoff} around ${expected}`);
      expected = Math.min(expected * 2, 4_000);
    }
  });

  it('draws the jitter once per failure, so backoffTimeMs() is stable between failures', () => {
    const strategy = createRestartStrategy(exponential({ jitterFactor: 0.5 }), new ManualClock(), { random: fixedRandom(0, 1 - 1e-9, 0.25) });
    strategy.notifyFailure(failure);
    assert.equal(strategy.backoffTimeMs(), 500);
    assert.equal(strategy.backoffTimeMs(), 500);
    strategy.notifyFailure(failure);
    assert.equal(strategy.backoffTimeMs(), 3_000);
  });

  it('defaults to Flink’s options', () => {
    assert.deepEqual(parseRestartStrategy({ kind: 'exponential-delay' }), {
      kind: 'exponential-delay',
      initialBackoffMs: 1_000,
      maxBackoffMs: 60_000,
      backoffMultiplier: 2,
      resetBackoffThresholdMs: 3_600_000,
      jitterFactor: 0.1,
      attempts: undefined,
    });
    assert.deepEqual(parseRestartStrategy({ kind: 'exponential-delay' }), DEFAULT_RESTART_STRATEGY);
  });
});

describe('failure-rate', () => {
  it('fails the job when more than maxFailuresPerInterval failures fall within one interval', () => {
    const clock = new ManualClock();
    const strategy = createRestartStrategy({ kind: 'failure-rate', maxFailuresPerInterval: 3, failureRateIntervalMs: 10_000, delayMs: 500 }, clock);
    for (let i = 0; i < 3; i++) {
      strategy.notifyFailure(failure);
      assert.equal(strategy.canRestart(), true);
      assert.equal(strategy.backoffTimeMs(), 500);
      clock.advance(1_000);
    }
    strategy.notifyFailure(failure);
    assert.equal(strategy.canRestart(), false);
    assert.match(strategy.describe(), /4 in the current interval/);
  });

  it('slides the window: old failures stop counting', () => {
    const clock = new ManualClock();
    const strategy = createRestartStrategy({ kind: 'failure-rate', maxFailuresPerInterval: 2, failureRateIntervalMs: 10_000, delayMs: 0 }, clock);
    strategy.notifyFailure(failure); // t = 0
    clock.advance(6_000);
    strategy.notifyFailure(failure); // t = 6 s
    clock.advance(4_000);
    strategy.notifyFailure(failure); // t = 10 s: the one at 0 is exactly one interval ago and still counts
    assert.equal(strategy.canRestart(), false);
    clock.advance(1);
    assert.equal(strategy.canRestart(), true); // now only 6 s and 10 s are within the interval
    clock.advance(5_000);
    strategy.notifyFailure(failure); // t = 15.001 s: 6 s, 10 s, 15.001 s
    assert.equal(strategy.canRestart(), false);
    clock.advance(1_000);
    assert.equal(strategy.canRestart(), true);
  });

  it('with one failure per interval, failures spread out never stop the job', () => {
    const clock = new ManualClock();
    const strategy = createRestartStrategy(parseRestartStrategy({ kind: 'failure-rate', failureRateIntervalMs: '1s' }), clock);
    for (let i = 0; i < 100; i++) {
      strategy.notifyFailure(failure);
      assert.equal(strategy.canRestart(), true);
      clock.advance(1_001);
    }
  });
});

describe('parseRestartStrategy', () => {
  it('fills Flink’s defaults and accepts durations as text', () => {
    assert.deepEqual(parseRestartStrategy({ kind: 'fixed-delay' }), { kind: 'fixed-delay', attempts: 1, delayMs: 1_000 });
    assert.deepEqual(parseRestartStrategy({ kind: 'fixed-delay', attempts: 5, delayMs: '10s' }), { kind: 'fixed-delay', attempts: 5, delayMs: 10_000 });
    assert.deepEqual(parseRestartStrategy({ kind: 'failure-rate' }), { kind: 'failure-rate', maxFailuresPerInterval: 1, failureRateIntervalMs: 60_000, delayMs: 1_000 });
    assert.deepEqual(parseRestartStrategy({ kind: 'none' }), { kind: 'none' });
  });

  it('accepts JSON text and a bare kind name', () => {
    assert.deepEqual(parseRestartStrategy('{"kind":"fixed-delay","attempts":3,"delayMs":"1m"}'), { kind: 'fixed-delay', attempts: 3, delayMs: 60_000 });
    assert.deepEqual(parseRestartStrategy('none'), { kind: 'none' });
    assert.deepEqual(parseRestartStrategy(' exponential-delay '), DEFAULT_RESTART_STRATEGY);
  });

  it('returns a frozen object', () => {
    assert.ok(Object.isFrozen(parseRestartStrategy({ kind: 'fixed-delay' })));
  });

  it('names the field of a bad value', () => {
    assertConfigError(() => parseRestartStrategy({ kind: 'fixed-delay', delayMs: 'soon' }), 'restartStrategy.delayMs', /"soon" is not a duration/);
    assertConfigError(() => parseRestartStrategy({ kind: 'fixed-delay', attempts: -1 }), 'restartStrategy.attempts', /-1 is not an integer of at least 0/);
    assertConfigError(() => parseRestartStrategy({ kind: 'fixed-delay', attempts: 1.5 }), 'restartStrategy.attempts');
    assertConfigError(() => parseRestartStrategy({ kind: 'exponential-delay', jitterFactor: 2 }), 'restartStrategy.jitterFactor', /at most 1/);
    assertConfigError(() => parseRestartStrategy({ kind: 'exponential-delay', backoffMultiplier: 0.5 }), 'restartStrategy.backoffMultiplier');
    assertConfigError(() => parseRestartStrategy({ kind: 'exponential-delay', initialBackoffMs: 0 }), 'restartStrategy.initialBackoffMs');
    assertConfigError(
      () => parseRestartStrategy({ kind: 'exponential-delay', initialBackoffMs: 5_000, maxBackoffMs: 1_000 }),
      'restartStrategy.maxBackoffMs',
      /less than initialBackoffMs \(5000\)/,
    );
    assertConfigError(() => parseRestartStrategy({ kind: 'failure-rate', maxFailuresPerInterval: 0 }), 'restartStrategy.maxFailuresPerInterval');
    assertConfigError(() => parseRestartStrategy({ kind: 'failure-rate', failureRateIntervalMs: null }), 'restartStrategy.failureRateIntervalMs');
  });

  it('names an unknown kind, a missing kind and an option the kind does not have', () => {
    assertConfigError(() => parseRestartStrategy({ kind: 'fixed' }), 'restartStrategy.kind', /one of none, fixed-delay, exponential-delay, failure-rate; got "fixed"/);
    assertConfigError(() => parseRestartStrategy({ attempts: 3 }), 'restartStrategy.kind', /got nothing/);
    assertConfigError(() => parseRestartStrategy({ kind: 'fixed-delay', delay: 5 }), 'restartStrategy.delay', /not an option of fixed-delay; its options are attempts, delayMs/);
    assertConfigError(() => parseRestartStrategy({ kind: 'none', attempts: 1 }), 'restartStrategy.attempts', /its options are none/);
    assertConfigError(() => parseRestartStrategy(42), 'restartStrategy', /expected an object/);
    assertConfigError(() => parseRestartStrategy('{"kind":'), 'restartStrategy', /not valid JSON/);
  });

  it('prefixes errors with the caller’s field name', () => {
    assertConfigError(() => parseRestartStrategy({ kind: 'fixed-delay', delayMs: -5 }, '--restart-strategy'), '--restart-strategy.delayMs');
  });
});
