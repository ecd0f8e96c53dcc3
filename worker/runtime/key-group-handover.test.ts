// Live rescaling at the operator level: a running keyed operator that shrinks its key-group range
// drops the state and the timers of the key groups it leaves, and one that gains key groups
// takes in their state and timers from the other subtask's checkpoint while keeping its own;
// the restored timers fire with the restored state. Run against both state backends.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../shared/clock.ts';
import { RestoreError } from '../../shared/errors.ts';
import { KeyGroupRange, assignToKeyGroup } from '../../shared/key-groups.ts';
import { mergeKeyGroups, type KeyedStateBackend, type KeyGroupState } from '../state/keyed-state-backend.ts';
import { LevelDbKeyedStateBackend } from '../state/leveldb-state-backend.ts';
import { InMemoryKeyedStateBackend } from '../state/memory-state-backend.ts';
import { DiscardingOutput } from './output.ts';
import { AbstractStreamOperator, type OperatorSnapshot } from './stream-operator.ts';
import type { Timer } from './timer-service.ts';

const MAX_PARALLELISM = 128;
const root = await mkdtemp(join(tmpdir(), 'sluice-key-group-handover-'));
after(() => rm(root, { recursive: true, force: true }));

interface Visit {
  readonly user: string;
  readonly at: number;
}

/** Counts visits per user; each visit sets an event-time timer at `at` and a processing-time timer at `at + 10 000`. */
class VisitCounter extends AbstractStreamOperator {
  /** `event|processing user@timestamp=count` for every timer that fired, with the count state at that moment. */
  readonly fired: string[] = [];

  processElement(value: unknown): void {
    const visit = value as Visit;
    this.setKeyContext(visit, 0);
    const counts = this.backend!.getTable<number>('count');
    counts.put(0, (counts.get(0) ?? 0) + 1);
    this.registerEventTimeTimer(visit.at, 0);
    this.registerProcessingTimeTimer(visit.at + 10_000, 0);
  }

  protected override onEventTime(timer: Timer): void {
    this.fired.push(`event ${String(timer.key)}@${timer.timestamp}=${this.backend!.getTable<number>('count').get(0)}`);
  }

  protected override onProcessingTime(timer: Timer): void {
    this.fired.push(`processing ${String(timer.key)}@${timer.timestamp}=${this.backend!.getTable<number>('count').get(0)}`);
  }
}

function keyGroupOfUser(user: string): number {
  return assignToKeyGroup(user, MAX_PARALLELISM);
}

let backendCount = 0;
const backendKinds: Record<string, (range: KeyGroupRange) => Promise<KeyedStateBackend>> = {
  memory: async (range) => new InMemoryKeyedStateBackend({ keyGroupRange: range, maxParallelism: MAX_PARALLELISM }),
  leveldb: (range) =>
    LevelDbKeyedStateBackend.create({
      keyGroupRange: range,
      maxParallelism: MAX_PARALLELISM,
      workingDirectory: join(root, `backend-${backendCount++}`),
      cacheCapacityEntries: 64,
    }),
};

function keyedOperator(backend: KeyedStateBackend, subtaskIndex: number): VisitCounter {
  const operator = new VisitCounter();
  operator.setup({
    uid: 'visits',
    name: 'visits',
    subtaskIndex,
    parallelism: 2,
    maxParallelism: MAX_PARALLELISM,
    properties: {},
    clock: new ManualClock(),
    output: new DiscardingOutput(),
    keyed: { backend, keySelectors: [(visit: Visit) => visit.user] },
  });
  return operator;
}

/** An operator snapshot as a checkpoint stores it: a LevelDB backend's key groups read raw, merged with the timers. */
async function asStored(snapshot: OperatorSnapshot): Promise<OperatorSnapshot> {
  const reader = snapshot.keyedReader;
  if (reader === undefined) return snapshot;
  const groups: KeyGroupState[] = [...snapshot.keyed!.keyGroups];
  for (const keyGroup of reader.keyGroups) groups.push({ keyGroup, entries: [], rawPairs: await reader.readRaw(keyGroup) });
  await reader.close();
  return { keyed: { maxParallelism: reader.maxParallelism, keyGroups: mergeKeyGroups(groups) } };
}

for (const [kind, createBackend] of Object.entries(backendKinds)) {
  describe(`key-group handover between running keyed operators (${kind} backend)`, () => {
    it('drops the timers and state of the key groups it leaves; the gaining subtask fires the restored timers with the restored state', async () => {
      const lowRange = KeyGroupRange.of(0, 63);
      const highRange = KeyGroupRange.of(64, 127);
      const [lowBackend, highBackend] = [await createBackend(lowRange), await createBackend(highRange)];
      const low = keyedOperator(lowBackend, 0);
      const high = keyedOperator(highBackend, 1);

      const users = Array.from({ length: 300 }, (_, i) => `user-${i}`);
      const visitsOf = (user: string): number => (Number(user.slice(5)) % 3) + 1;
      for (const user of users) {
        const operator = lowRange.contains(keyGroupOfUser(user)) ? low : high;
        assert.equal(operator.keyGroupOf({ user, at: 0 }, 0), keyGroupOfUser(user));
        for (let visit = 0; visit < visitsOf(user); visit++) operator.processElement({ user, at: 1_000 + Number(user.slice(5)) });
      }
      const checkpoint = await asStored(await high.snapshotState(1));

      // The handover: key groups 64..95 move from `high` to `low`.
      const moved = KeyGroupRange.of(64, 95);
      await high.setKeyGroupRange(KeyGroupRange.of(96, 127));
      await low.setKeyGroupRange(KeyGroupRange.of(0, 95));
      await low.restoreState([checkpoint]);

      const expected = (range: KeyGroupRange, domain: string, offset: number): string[] =>
        users
          .filter((user) => range.contains(keyGroupOfUser(user)))
          .map((user) => `${domain} ${user}@${1_000 + Number(user.slice(5)) + offset}=${visitsOf(user)}`)
          .sort();
      high.processWatermark(10_000);
      high.fireProcessingTimers(20_000);
      low.processWatermark(10_000);
      low.fireProcessingTimers(20_000);
      assert.deepEqual(
        high.fired.sort(),
        [...expected(KeyGroupRange.of(96, 127), 'event', 0), ...expected(KeyGroupRange.of(96, 127), 'processing', 10_000)].sort(),
      );
      assert.deepEqual(
        low.fired.sort(),
        [...expected(KeyGroupRange.of(0, 95), 'event', 0), ...expected(KeyGroupRange.of(0, 95), 'processing', 10_000)].sort(),
      );
      assert.ok(expected(moved, 'event', 0).length > 0, 'some users live in the moved key groups');
      assert.equal(high.nextProcessingTimerMs(), Number.POSITIVE_INFINITY);
      assert.equal(await highBackend.countEntries(), users.filter((user) => keyGroupOfUser(user) >= 96).length);
      assert.equal(await lowBackend.countEntries(), users.filter((user) => keyGroupOfUser(user) <= 95).length);

      await Promise.all([lowBackend.dispose(), highBackend.dispose()]);
    });

    it('refuses to restore key groups it already holds state or timers in, naming one', async () => {
      const backend = await createBackend(KeyGroupRange.of(0, 127));
      const operator = keyedOperator(backend, 0);
      operator.processElement({ user: 'ada', at: 5 });
      const checkpoint = await asStored(await operator.snapshotState(1));
      await assert.rejects(
        operator.restoreState([checkpoint]),
        (error: unknown) => error instanceof RestoreError && error.message.includes(`key group ${keyGroupOfUser('ada')}`),
      );
      // Nothing was merged: one count, one timer of each kind.
      operator.processWatermark(10);
      operator.fireProcessingTimers(20_000);
      assert.deepEqual(operator.fired.sort(), ['event ada@5=1', 'processing ada@10005=1']);
      await backend.dispose();
    });
  });
}

describe('keyGroupOf', () => {
  it('is undefined for an operator that is not keyed', () => {
    const operator = new VisitCounter();
    operator.setup({ uid: 'plain', name: 'plain', subtaskIndex: 0, parallelism: 1, maxParallelism: MAX_PARALLELISM, properties: {}, clock: new ManualClock(), output: new DiscardingOutput() });
    assert.equal(operator.keyGroupOf({ user: 'ada', at: 0 }, 0), undefined);
  });
});
