// The application lifecycle table: Managed Flink's statuses and the changes the operations make.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { APPLICATION_STATUSES, APPLICATION_TRANSITIONS, checkApplicationTransition, isApplicationActive, type ApplicationStatus } from './application-states.ts';

describe('application statuses', () => {
  it("are Managed Flink's, each with what it is and where it may go", () => {
    assert.deepEqual(Object.keys(APPLICATION_STATUSES).sort(), ['AUTOSCALING', 'DELETING', 'FORCE_STOPPING', 'READY', 'ROLLED_BACK', 'ROLLING_BACK', 'RUNNING', 'STARTING', 'STOPPING', 'UPDATING']);
    assert.deepEqual(Object.keys(APPLICATION_TRANSITIONS), Object.keys(APPLICATION_STATUSES));
    for (const [status, next] of Object.entries(APPLICATION_TRANSITIONS)) for (const to of next) assert.ok(to in APPLICATION_STATUSES, `${status} → ${to}`);
  });

  it('the operations take these paths: start, update, a system rollback, stop', () => {
    const paths: ApplicationStatus[][] = [
      ['READY', 'STARTING', 'RUNNING'],
      ['RUNNING', 'UPDATING', 'RUNNING'],
      ['RUNNING', 'UPDATING', 'ROLLING_BACK', 'ROLLED_BACK', 'STOPPING', 'READY'],
      ['RUNNING', 'FORCE_STOPPING', 'READY', 'DELETING'],
    ];
    for (const path of paths) for (let i = 1; i < path.length; i++) checkApplicationTransition('a', path[i - 1]!, path[i]!);
  });

  it('refuses a change the table does not declare, naming the application', () => {
    assert.throws(() => checkApplicationTransition('orders', 'READY', 'RUNNING'), /application orders: illegal status change READY → RUNNING/);
    assert.throws(() => checkApplicationTransition('orders', 'UPDATING', 'ROLLED_BACK'), /UPDATING → ROLLED_BACK/);
    assert.throws(() => checkApplicationTransition('orders', 'DELETING', 'READY'), /DELETING → READY/);
  });

  it('a job runs the application in every status but READY and DELETING', () => {
    assert.deepEqual((Object.keys(APPLICATION_STATUSES) as ApplicationStatus[]).filter((s) => !isApplicationActive(s)), ['READY', 'DELETING']);
  });
});
