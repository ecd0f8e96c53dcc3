import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock.ts';
import { InMemoryLogger } from '../logging.ts';
import { CheckpointCoordinator, type CheckpointParticipants } from './checkpoint-coordinator.ts';
import { openCheckpointStorage } from './checkpoint-storage.ts';

function coordinatorOf(subtasks: Array<{ taskId: number; subtask: number }>) {
  const aborted: number[] = [];
  const committed: number[] = [];
  const participants: CheckpointParticipants = {
    jobName: 'job',
    maxParallelism: 128,
    subtasks: () => subtasks,
    allFinished: () => false,
    triggerCheckpoint: () => {},
    notifyCheckpointComplete: async (id) => void committed.push(id),
    abortCheckpoint: (id) => void aborted.push(id),
    operatorInfo: (uid) => ({ name: uid, parallelism: 2, maxParallelism: 128 }),
  };
  const storage = openCheckpointStorage(`memory://checkpoint-coordinator-${randomUUID()}`);
  const coordinator = new CheckpointCoordinator(participants, { storage, clock: new ManualClock(0), logger: new InMemoryLogger(), retainedCheckpoints: 2, minPauseBetweenCheckpointsMs: 0, lastCheckpointId: 0 });
  return { coordinator, aborted, committed, storage };
}

describe('checkpoint coordinator acknowledgements', () => {
  it('fails the checkpoint, and aborts it on the tasks, when a subtask it was not triggered for acknowledges', async () => {
    const { coordinator, aborted, storage } = coordinatorOf([{ taskId: 1, subtask: 0 }, { taskId: 1, subtask: 1 }]);
    const done = coordinator.trigger(1);
    coordinator.acknowledge(1, { taskId: 1, subtask: 0, handles: new Map() });
    coordinator.acknowledge(1, { taskId: 1, subtask: 2, handles: new Map() });
    await assert.rejects(done, /checkpoint 1 declined: subtask 1\/2 acknowledged it, but it was not one of the subtasks/);
    assert.deepEqual(aborted, [1]);
    coordinator.acknowledge(1, { taskId: 1, subtask: 1, handles: new Map() });
    assert.deepEqual(await storage.listCompleted(), [], 'the declined checkpoint never completes');
  });

  it('ignores a second acknowledgement of one subtask and completes once every subtask acknowledged', async () => {
    const { coordinator, committed } = coordinatorOf([{ taskId: 1, subtask: 0 }, { taskId: 1, subtask: 1 }]);
    const done = coordinator.trigger(1);
    coordinator.acknowledge(1, { taskId: 1, subtask: 0, handles: new Map() });
    coordinator.acknowledge(1, { taskId: 1, subtask: 0, handles: new Map() });
    assert.equal(coordinator.pendingCheckpointId, 1, 'a duplicate does not complete it');
    coordinator.acknowledge(1, { taskId: 1, subtask: 1, handles: new Map() });
    assert.equal((await done).checkpointId, 1);
    assert.deepEqual(committed, [1]);
  });
});
