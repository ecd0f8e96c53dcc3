// The job lifecycle table: what a rescale, a restart and the terminal states may move to.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { checkTransition, isTerminal, JOB_STATES, TRANSITIONS, type JobState } from './job-states.ts';

describe('job states', () => {
  it('a rescale goes running → rescaling → deploying → running, or waits for slots as restarting', () => {
    const path: JobState[] = ['running', 'rescaling', 'deploying', 'running', 'rescaling', 'restarting', 'deploying'];
    for (let i = 1; i < path.length; i++) checkTransition('j', path[i - 1]!, path[i]!);
  });

  it('refuses a transition the table does not declare, naming the job and both states', () => {
    assert.throws(() => checkTransition('job-7', 'rescaling', 'running'), /job job-7: illegal state transition rescaling → running/);
    assert.throws(() => checkTransition('job-7', 'restarting', 'rescaling'), /illegal state transition restarting → rescaling/);
    assert.throws(() => checkTransition('job-7', 'finished', 'running'), /illegal state transition finished → running/);
  });

  it('finished, cancelled, stopped and failed are terminal; the others are not', () => {
    const terminal = (['created', 'deploying', 'running', 'restarting', 'rescaling', 'finished', 'cancelled', 'stopped', 'failed'] as JobState[]).filter(isTerminal);
    assert.deepEqual(terminal, ['finished', 'cancelled', 'stopped', 'failed']);
  });
});

describe("the README's job state table", () => {
  it('lists every state, what it is and where it goes, as the code declares them', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const rows = readme.split('\n').filter((line) => /^\| `[a-z]+` \| /.test(line));
    const documented = new Map(
      rows.map((line) => {
        const [, state, what, to] = /^\| `([a-z]+)` \| (.*) \| (.*) \|$/.exec(line)!;
        return [state!, { what: what!, to: to === '—' ? [] : to!.split(', ').map((t) => t.replace(/`/g, '')) }];
      }),
    );
    assert.deepEqual([...documented.keys()], Object.keys(JOB_STATES), 'the same states, in the same order');
    for (const [state, row] of documented) {
      assert.equal(row.what, JOB_STATES[state as JobState], `what ${state} is`);
      assert.deepEqual(row.to, TRANSITIONS[state as JobState], `where ${state} goes`);
    }
  });
});
