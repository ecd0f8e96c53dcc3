import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { SluiceError, StaleEpochError } from '../../shared/errors.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { TaskExecutor, type TaskExecutorOptions } from './task-executor.ts';

function executor(): TaskExecutor {
  return new TaskExecutor({
    workerId: 'worker-1',
    rpcAddress: '127.0.0.1:1',
    dataAddress: '127.0.0.1:2',
    metricsAddress: '',
    slots: 1,
    coordinators: [],
    token: undefined,
    heartbeatIntervalMs: 1_000,
    stateBackend: 'memory',
    stateDirectory: '/nonexistent',
    clock: new ManualClock(0),
    logger: new InMemoryLogger(),
  } as unknown as TaskExecutorOptions);
}

describe('task executor epochs', () => {
  it('a (re)started worker refuses coordinator calls until a leader registered it, as unavailable (the caller does not step down)', async () => {
    const worker = executor();
    const refused = await worker.handlers.TriggerCheckpoint({ jobId: 'j', attempt: 1, checkpointId: 1 }, { epoch: 3, peer: 'old leader' }).then(
      () => assert.fail('an unregistered worker accepted a call'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof SluiceError && !(refused instanceof StaleEpochError), String(refused));
    assert.equal(refused.retriable, true);
    assert.match(refused.message, /TriggerCheckpoint: worker worker-1 has not registered with a leader yet/);
    assert.equal(worker.epoch, 0, 'the refused epoch was not taken as the current one');
  });
});
