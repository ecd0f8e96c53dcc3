import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointError, ConfigurationError } from '../../shared/errors.ts';
import { CheckpointFailureManager } from './checkpoint-failure-manager.ts';

const declined = (id: number) => new Error(`checkpoint ${id} declined: worker-2 is gone`);

describe('CheckpointFailureManager', () => {
  it('tolerates N consecutive failures and fails the job at the N+1st', () => {
    const failures = new CheckpointFailureManager(2);
    assert.equal(failures.onFailed(declined(1)), undefined);
    assert.equal(failures.onFailed(declined(2)), undefined);
    const error = failures.onFailed(declined(3));
    assert.ok(error instanceof CheckpointError);
    assert.equal(error.message, '3 checkpoints in a row failed (tolerable: 2); the last: checkpoint 3 declined: worker-2 is gone');
    assert.deepEqual(failures.counts, { completed: 0, failed: 3, consecutiveFailed: 0 });
  });

  it('starts a new run after failing the job: the next failure is the first of it', () => {
    const failures = new CheckpointFailureManager(1);
    failures.onFailed(declined(1));
    assert.ok(failures.onFailed(declined(2)));
    assert.equal(failures.onFailed(declined(3)), undefined);
    assert.ok(failures.onFailed(declined(4)));
  });

  it('a completed checkpoint ends the run', () => {
    const failures = new CheckpointFailureManager(2);
    failures.onFailed(declined(1));
    failures.onFailed(declined(2));
    failures.onCompleted();
    assert.equal(failures.onFailed(declined(4)), undefined);
    assert.equal(failures.onFailed(declined(5)), undefined);
    assert.ok(failures.onFailed(declined(6)));
    assert.deepEqual(failures.counts, { completed: 1, failed: 5, consecutiveFailed: 0 });
  });

  it('with 0 tolerable, the first failure fails the job', () => {
    const error = new CheckpointFailureManager(0).onFailed(declined(1));
    assert.match(error?.message ?? '', /^1 checkpoints in a row failed \(tolerable: 0\)/);
  });

  it('checkpoints aborted with their attempt count as failed but not against the tolerance', () => {
    const failures = new CheckpointFailureManager(1);
    failures.onFailed(declined(1));
    failures.onAbortedWithAttempt();
    failures.onAbortedWithAttempt();
    assert.deepEqual(failures.counts, { completed: 0, failed: 3, consecutiveFailed: 1 });
    assert.ok(failures.onFailed(declined(4)), 'the run went on from 1');
  });

  it('refuses a negative or fractional tolerance', () => {
    assert.throws(() => new CheckpointFailureManager(-1), ConfigurationError);
    assert.throws(() => new CheckpointFailureManager(1.5), ConfigurationError);
  });
});
