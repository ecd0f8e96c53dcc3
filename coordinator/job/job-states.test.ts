// The job lifecycle table: what a rescale, a restart and the terminal states may move to.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { checkTransition, isTerminal, JOB_STATES, TRANSITIONS, type JobState } from './job-states.ts';
import { STATE_MODULES } from './states/index.ts';

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
    const terminal = (Object.keys(JOB_STATES) as JobState[]).filter(isTerminal);
    assert.deepEqual(terminal, ['finished', 'cancelled', 'stopped', 'failed']);
  });
});

describe('the state modules', () => {
  it('every state of the table has its module and every module is a state of the table', () => {
    assert.deepEqual(Object.keys(STATE_MODULES), Object.keys(JOB_STATES));
    assert.deepEqual(Object.keys(TRANSITIONS), Object.keys(JOB_STATES));
    for (const [state, module] of Object.entries(STATE_MODULES)) assert.equal(module.state, state, `the module of ${state} says it is ${module.state}`);
  });

  it('a live rescale goes through its three steps and back to running, and a new leader can only restart from each', () => {
    const path: JobState[] = ['running', 'live-rescale-preparing', 'live-rescale-switching', 'live-rescale-completing', 'running'];
    for (let i = 1; i < path.length; i++) checkTransition('j', path[i - 1]!, path[i]!);
    for (const step of path.slice(1, 4)) {
      checkTransition('j', step, 'restarting');
      assert.throws(() => checkTransition('j', step, 'rescaling'));
    }
    assert.throws(() => checkTransition('j', 'live-rescale-preparing', 'live-rescale-completing'), /illegal/);
  });

  it('terminal states hold no attempt; a running attempt is one heartbeats must list', () => {
    for (const state of Object.keys(JOB_STATES) as JobState[]) if (isTerminal(state)) assert.equal(STATE_MODULES[state].attempt, 'none', state);
    assert.equal(STATE_MODULES.running.attempt, 'running');
    assert.equal(STATE_MODULES.restarting.attempt, 'none');
  });
});

describe("the README's job state table", () => {
  it('lists every state, what it is and where it goes, as the code declares them', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const rows = readme.split('\n').filter((line) => /^\| `[a-z][a-z-]*` \| /.test(line));
    const documented = new Map(
      rows.map((line) => {
        const [, state, what, to] = /^\| `([a-z][a-z-]*)` \| (.*) \| (.*) \|$/.exec(line)!;
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
