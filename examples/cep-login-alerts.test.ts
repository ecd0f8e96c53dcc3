// The login-alerts example on its sample, embedded: ann's late failure still completes her
// break-in, cid's two failures are not enough, bob is locked out before he logs in.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamExecutionEnvironment, WatermarkStrategy } from 'sluice';
import { CollectSink, runEmbedded } from 'sluice/testing';
import { LOCKOUTS, SAMPLE, loginNotices, type Login, type Notice } from './cep-login-alerts.ts';

describe('examples/cep-login-alerts', () => {
  it('alerts on a break-in and locks an account with three failures and no success', async () => {
    const env = new StreamExecutionEnvironment().setParallelism(2).setAutoWatermarkInterval(0);
    const alerts = new CollectSink<Notice>();
    const lockouts = new CollectSink<Notice>();
    const logins = env.fromCollection(SAMPLE, WatermarkStrategy.forBoundedOutOfOrderness<Login>(5_000).withTimestampAssigner((l) => l.t));
    const notices = loginNotices(logins);
    notices.sinkTo(alerts);
    notices.getSideOutput(LOCKOUTS).sinkTo(lockouts);
    await runEmbedded(env);
    assert.deepEqual(alerts.values, [{ user: 'ann', kind: 'break-in', failedAt: [1_000, 3_000, 4_000], succeededAt: 5_000 }]);
    assert.deepEqual(lockouts.values, [{ user: 'bob', kind: 'lockout', failedAt: [3_500, 4_000, 6_000] }]);
  });
});
