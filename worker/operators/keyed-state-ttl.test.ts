// State with a time-to-live in a running job, embedded, on both backends: a keyed process
// function counts a user's visits (ValueState) and keeps the pages seen (ListState, per element),
// both with a one-minute time-to-live on the job's ManualClock. The job checkpoints, fails and is
// restored from its checkpoint; values restored expire when they would have without the restore
// (a restore that renewed or dropped the timestamps gives other counts). Expected output by hand.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  ListStateDescriptor,
  StateTtlConfig,
  ValueStateDescriptor,
  WatermarkStrategy,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type ListState,
  type RuntimeContext,
  type ValueState,
} from '../../shared/api/index.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { ManualClock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { InMemoryDeadLetterOutput } from '../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../runtime/embedded-executor.ts';
import type { StateBackendKind } from '../state/keyed-state-backend.ts';
import { GatedSource } from '../testing/gated-source.ts';
import { deterministicEnv, multiset } from '../testing/pipeline-helpers.ts';

const root = await mkdtemp(join(tmpdir(), 'sluice-keyed-state-ttl-'));
after(() => rm(root, { recursive: true, force: true }));

const TTL_MS = 60_000;

interface Visit {
  readonly user: string;
  readonly page: string;
}

class VisitsWithinTtl implements KeyedProcessFunction<string, Visit, string> {
  private visits!: ValueState<number>;
  private pages!: ListState<string>;

  open(context: RuntimeContext): void {
    const ttl = StateTtlConfig.newBuilder(TTL_MS).build();
    this.visits = context.getState(new ValueStateDescriptor<number>('visits').enableTimeToLive(ttl));
    this.pages = context.getListState(new ListStateDescriptor<string>('pages').enableTimeToLive(ttl));
  }

  processElement(visit: Visit, _context: KeyedProcessContext<string>, out: Collector<string>): void {
    const visits = (this.visits.value() ?? 0) + 1;
    this.visits.update(visits);
    this.pages.add(visit.page);
    out.collect(`${visit.user}:${visits}:${this.pages.get().join('|')}`);
  }
}

const visits: Visit[] = [
  { user: 'a', page: 'p1' }, // at 1 000
  { user: 'b', page: 'p1' },
  { user: 'a', page: 'p2' }, // at 31 000; checkpointed, then the job fails before the next record
  { user: 'a', page: 'p3' }, // at 71 000, restored: b's visit (1 000) and page p1 expired at 61 000
  { user: 'b', page: 'p2' },
  { user: 'a', page: 'p4' }, // at 140 000: a's count (71 000) expired at 131 000, p2 and p3 too
];

const expected = ['a:1:p1', 'b:1:p1', 'a:2:p1|p2', 'a:3:p2|p3', 'b:1:p2', 'a:1:p4'];

/**
 * The run loop sleeps on the manual clock while it waits for input: moves the clock a millisecond
 * at a time, each followed by a turn of the event loop, until `condition` holds. Processing time
 * thus drifts by a few milliseconds from the times above, far from every expiry (minutes apart).
 */
async function drive(clock: ManualClock, what: string, condition: () => boolean): Promise<void> {
  const startMs = clock.now();
  while (!condition()) {
    if (clock.now() - startMs > 10_000) throw new Error(`${what}: not after 10 s of processing time`);
    clock.advance(1);
    await nextTurn();
  }
}

function options(clock: ManualClock, kind: StateBackendKind, storage: InMemoryCheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}): EmbeddedExecutorOptions {
  return {
    jobName: 'keyed-state-ttl',
    properties: {},
    clock,
    logger: new InMemoryLogger(),
    stateBackend: kind,
    stateDirectory: join(root, `${kind}-${Math.random().toString(36).slice(2)}`),
    checkpointStorage: storage,
    deadLetters: new InMemoryDeadLetterOutput(),
    checkpointIntervalMs: 10,
    ...extra,
  };
}

function job(source: GatedSource<Visit>, sink: CollectSink<string>) {
  const env = deterministicEnv(1);
  env
    .fromSource(source, WatermarkStrategy.noWatermarks<Visit>(), 'visits')
    .uid('visits')
    .keyBy((visit) => visit.user)
    .process(() => new VisitsWithinTtl())
    .uid('visits-within-ttl')
    .sinkTo(sink)
    .uid('sink');
  return env;
}

describe('keyed state with a time-to-live in an embedded job', () => {
  for (const kind of ['memory', 'leveldb'] as const) {
    it(`expires values by the job's processing time, and a restore from a checkpoint keeps when they expire (${kind})`, async () => {
      const clock = new ManualClock(1_000);
      const storage = new InMemoryCheckpointStorage();
      const sink = new CollectSink<string>();

      const first = new GatedSource(visits);
      const executor = await EmbeddedExecutor.create(job(first, sink), options(clock, kind, storage));
      const running = executor.run();
      let failed = false;
      running.catch(() => (failed = true)); // as planned, below
      first.release(2);
      await drive(clock, 'the first two visits read', () => executor.getStatus().recordsRead === 2);
      clock.advanceTo(31_000);
      first.release(1);
      await drive(clock, 'the first three results committed by a checkpoint', () => sink.committed.length === 3);
      first.failAt = 3;
      first.release(1);
      // Failing, the job aborts its checkpoints and closes, which waits on the clock too.
      await drive(clock, 'the job to fail', () => failed);
      await assert.rejects(running, /injected failure before record 3/);

      const latest = (await storage.listCompleted()).at(-1)!;
      const second = new GatedSource(visits);
      second.release(3); // read before the checkpoint: the restored position skips them
      const restored = await EmbeddedExecutor.create(job(second, sink), options(clock, kind, storage, { restore: { storage, checkpointId: latest } }));
      const resumed = restored.run();
      clock.advanceTo(71_000);
      second.release(2);
      await drive(clock, 'the visits at 71 000 read', () => restored.getStatus().recordsRead === 2);
      clock.advanceTo(140_000);
      second.releaseAllAndEnd();
      await drive(clock, 'the job to finish', () => restored.getStatus().state === 'finished');
      assert.equal((await resumed).state, 'finished');
      assert.deepEqual(multiset(sink.values), multiset(expected));
    });
  }
});
