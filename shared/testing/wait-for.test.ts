import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from './wait-for.ts';

describe('waitFor', () => {
  it('returns the first answer that is not undefined, null or false (0 and "" are answers)', async () => {
    const answers: unknown[] = [undefined, null, false, 0];
    assert.equal(await waitFor('an answer', 5_000, () => answers.shift()), 0);
    const strings: Array<string | undefined> = [undefined, ''];
    assert.equal(await waitFor('an answer', 5_000, () => strings.shift()), '');
  });

  it('awaits an async probe, and a boolean probe resolves to true', async () => {
    let calls = 0;
    const done: true = await waitFor('the third call', 5_000, async () => ++calls === 3);
    assert.equal(done, true);
    assert.equal(calls, 3);
  });

  it('polls quickly at first: a state that comes at once is not waited for a whole interval', { timeout: 5_000 }, async () => {
    let calls = 0;
    await waitFor('the third call', 60_000, () => ++calls >= 3, 60_000);
  });

  it('on timeout, names what it waited for and the last error the probe threw (kept as cause)', async () => {
    let calls = 0;
    const error = await waitFor('the service to answer', 30, () => {
      throw new Error(`refused ${++calls}`);
    }, 5).then(() => assert.fail('resolved'), (e: Error) => e);
    assert.match(error.message, new RegExp(`^timed out after 30 ms waiting for the service to answer \\(last error: refused ${calls}\\)$`));
    assert.equal((error.cause as Error).message, `refused ${calls}`);
  });

  it('recovers from a probe that threw, and describes what was seen when given a function', async () => {
    let calls = 0;
    assert.equal(await waitFor('a recovery', 5_000, () => {
      if (++calls < 3) throw new Error('not yet');
      return 'up';
    }), 'up');
    let seen = 0;
    await assert.rejects(
      waitFor(() => `10 records (${seen} read)`, 30, () => (++seen >= 10_000 ? true : undefined), 5),
      (e: Error) => new RegExp(`^timed out after 30 ms waiting for 10 records \\(${seen} read\\)$`).test(e.message) && e.cause === undefined,
    );
  });
});
