// The broadcast state pattern: rules broadcast to every subtask of a keyed operator that checks
// events against them; the broadcast state is read-only on the event side, names the state a
// function asks for that was not declared, and comes back on every subtask after a restore at a
// higher parallelism; a job with broadcast state rescales by restart.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  MapStateDescriptor,
  StateTtlConfig,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  WatermarkStrategy,
  type KeyedBroadcastProcessFunction,
  type BroadcastProcessFunction,
  type ValueState,
} from '../../shared/api/index.ts';
import { InMemoryCheckpointStorage, type CheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { liveRescaleRefusal, planJob } from '../../shared/plan/job-plan.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../runtime/embedded-executor.ts';
import { embeddedOptions, runEmbedded } from '../testing/embedded-harness.ts';
import { GatedSource } from '../testing/gated-source.ts';
import { multiset } from '../testing/pipeline-helpers.ts';
import { ManualClock } from '../../shared/clock.ts';
import { assignToKeyGroup, keyGroupRangeForSubtask, type KeyGroupRange } from '../../shared/key-groups.ts';
import type { TaskVertex } from '../../shared/plan/job-plan.ts';
import { InputChannel } from '../runtime/exchange.ts';
import type { Output } from '../runtime/output.ts';
import type { OperatorSnapshot } from '../runtime/stream-operator.ts';
import { StreamTask } from '../runtime/stream-task.ts';
import { mergeKeyGroups, type KeyedStateBackend, type StateBackendKind } from '../state/keyed-state-backend.ts';
import { LevelDbKeyedStateBackend } from '../state/leveldb-state-backend.ts';
import { InMemoryKeyedStateBackend } from '../state/memory-state-backend.ts';
import { KeyedBroadcastProcessOperator } from './broadcast-operators.ts';

interface Rule {
  readonly id: string;
  readonly minAmount: number;
}
interface Payment {
  readonly user: string;
  readonly amount: number;
}

const RULES = new MapStateDescriptor<string, Rule>('rules');

/** Alerts `<rule>:<user>:<n>` for each payment at or above a rule's amount; n counts the user's alerts (keyed state). */
const checkPayments = (seenRules: string[]): KeyedBroadcastProcessFunction<string, Payment, Rule, string> => {
  let alerts: ValueState<number>;
  return {
    open(context) {
      alerts = context.getState(new ValueStateDescriptor<number>('alerts'));
    },
    processElement(payment, ctx, out) {
      for (const [id, rule] of ctx.getBroadcastState(RULES).entries()) {
        if (payment.amount < rule.minAmount) continue;
        const n = (alerts.value() ?? 0) + 1;
        alerts.update(n);
        out.collect(`${id}:${ctx.getCurrentKey()}:${n}`);
      }
    },
    processBroadcastElement(rule, ctx) {
      ctx.getBroadcastState(RULES).put(rule.id, rule);
      seenRules.push(rule.id);
    },
  };
};

const options = (storage: CheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}) => embeddedOptions('broadcast', storage, extra);

const payments: Payment[] = [
  { user: 'ann', amount: 50 },
  { user: 'bob', amount: 500 },
  { user: 'ann', amount: 700 },
  { user: 'cid', amount: 5_000 },
];

describe('broadcast state', () => {
  it('rules reach every subtask of a keyed operator, which checks each payment against all of them', async () => {
    const seenRules: string[] = [];
    const env = new StreamExecutionEnvironment();
    const rules = env.fromCollection<Rule>([{ id: 'big', minAmount: 400 }, { id: 'huge', minAmount: 1_000 }]).broadcast(RULES);
    const events = new GatedSource(payments);
    const sink = new CollectSink<string>();
    env
      .fromSource(events, WatermarkStrategy.noWatermarks<Payment>(), 'payments')
      .keyBy((p) => p.user)
      .connect(rules)
      .process(() => checkPayments(seenRules))
      .setParallelism(2)
      .sinkTo(sink);

    const running = runEmbedded(env);
    // Every subtask has both rules before the first payment.
    await waitFor('both rules on both subtasks', 5_000, () => seenRules.length === 4);
    events.releaseAllAndEnd();
    await running;
    assert.deepEqual(multiset(sink.values), multiset(['big:bob:1', 'big:ann:1', 'big:cid:1', 'huge:cid:2']));
  });

  it('is read-only on the event side and names a state the stream did not declare', async () => {
    const probe = (env: StreamExecutionEnvironment, fn: BroadcastProcessFunction<number, Rule, string>) => {
      env.fromCollection([1]).connect(env.fromCollection<Rule>([{ id: 'r', minAmount: 1 }]).broadcast(RULES)).process(fn).sinkTo(new CollectSink());
      return runEmbedded(env);
    };
    const writes: string[] = [];
    await probe(new StreamExecutionEnvironment(), {
      processElement(_value, ctx) {
        writes.push(typeof (ctx.getBroadcastState(RULES) as unknown as { put?: unknown }).put);
      },
      processBroadcastElement(rule, ctx) {
        ctx.getBroadcastState(RULES).put(rule.id, rule);
      },
    });
    assert.deepEqual(writes, ['undefined'], 'processElement cannot write broadcast state');

    const other = new MapStateDescriptor<string, number>('limits');
    await assert.rejects(
      probe(new StreamExecutionEnvironment(), {
        processElement() {},
        processBroadcastElement(_rule, ctx) {
          ctx.getBroadcastState(other).put('x', 1);
        },
      }),
      /no broadcast state "limits"; the BroadcastStream declares "rules"/,
    );
    assert.throws(() => new StreamExecutionEnvironment().fromCollection([1]).broadcast(RULES, new MapStateDescriptor('rules')), /broadcast state "rules" is named twice/);
  });

  it('comes back on every subtask after a restore at a higher parallelism', async () => {
    const storage = new InMemoryCheckpointStorage();
    const sink = new CollectSink<string>();
    const job = (parallelism: number, rules: GatedSource<Rule>, events: GatedSource<Payment>, seenRules: string[]) => {
      const env = new StreamExecutionEnvironment();
      const broadcast = env.fromSource(rules, WatermarkStrategy.noWatermarks<Rule>(), 'rules').uid('rules').setParallelism(1).broadcast(RULES);
      env
        .fromSource(events, WatermarkStrategy.noWatermarks<Payment>(), 'payments')
        .uid('payments')
        .setParallelism(1)
        .keyBy((p) => p.user)
        .connect(broadcast)
        .process(() => checkPayments(seenRules))
        .uid('check')
        .setParallelism(parallelism)
        .sinkTo(sink)
        .uid('sink');
      return env;
    };

    // 1. Two subtasks learn the rules; the job stops with a last checkpoint.
    const seen: string[] = [];
    const rules = new GatedSource<Rule>([{ id: 'big', minAmount: 400 }]);
    rules.release(1);
    const first = await EmbeddedExecutor.create(job(2, rules, new GatedSource<Payment>([]), seen), options(storage));
    const running = first.run();
    await waitFor('the rule on both subtasks', 5_000, () => seen.length === 2);
    first.stop();
    assert.equal((await running).state, 'stopped');

    // 2. Three subtasks, no rule sent again: each has it from the checkpoint.
    const ids = await storage.listCompleted();
    const events = new GatedSource(payments);
    events.releaseAllAndEnd();
    const rulesAgain = new GatedSource<Rule>([{ id: 'big', minAmount: 400 }]);
    rulesAgain.releaseAllAndEnd();
    const seenAfter: string[] = [];
    const second = await EmbeddedExecutor.create(job(3, rulesAgain, events, seenAfter), options(storage, { restore: { storage, checkpointId: ids[ids.length - 1]! } }));
    assert.equal((await second.run()).state, 'finished');
    assert.deepEqual(seenAfter, [], 'the rule source resumed past its rule');
    assert.deepEqual(multiset(sink.values), multiset(['big:bob:1', 'big:ann:1', 'big:cid:1']));
  });

  it('a job with broadcast state rescales by restart, not live', () => {
    const plan = (parallelism: number) => {
      const env = new StreamExecutionEnvironment();
      const rules = env.fromCollection<Rule>([]).broadcast(RULES);
      env.fromCollection(payments).rebalance().keyBy((p) => p.user).connect(rules).process(checkPayments([])).setParallelism(parallelism).sinkTo(new CollectSink()).setParallelism(parallelism);
      return planJob(env.graph, env.settings, { jobName: 'rules', parallelism });
    };
    assert.match(liveRescaleRefusal(plan(1), plan(2)) ?? '', /keeps broadcast state: every new subtask gets a copy by a restart/);
  });
});

// applyToKeyedState, on one keyed subtask driven as its task's run loop would (processInput, and
// fireProcessingTimers when the operator wakes it), on both backends. The LevelDB backend has a
// cache smaller than the keys, so values are in the cache, in write overlays and in the database,
// and its keys are listed asynchronously while the subtask holds its input.

const ADMIN = new MapStateDescriptor<string, string>('admin');
const TTL_MS = 60_000;
const TOTAL = new ValueStateDescriptor<number>('total');
const SEEN = new ValueStateDescriptor<number>('seen');
const RECENT = new ValueStateDescriptor<number>('recent').enableTimeToLive(StateTtlConfig.newBuilder(TTL_MS).build());

/** total: a user's amounts; seen: written instead for `seenOnly` events; recent: with a time-to-live. */
interface Payment2 {
  readonly user: string;
  readonly amount?: number;
  readonly seenOnly?: boolean;
  readonly clear?: boolean;
  readonly recent?: boolean;
}
/** What the broadcast side asks: 'halve' halves even totals and clears odd ones; 'visit' only records. */
interface Command {
  readonly kind: 'halve' | 'visit' | 'visit-recent';
}

const halvingFunction = (visited: Array<[string, number | undefined]>): KeyedBroadcastProcessFunction<string, Payment2, Command, string> => {
  let total: ValueState<number>;
  let seen: ValueState<number>;
  let recent: ValueState<number>;
  return {
    open(context) {
      total = context.getState(TOTAL);
      seen = context.getState(SEEN);
      recent = context.getState(RECENT);
    },
    processElement(payment, ctx, out) {
      if (payment.seenOnly) seen.update(1);
      else if (payment.clear) total.clear();
      else if (payment.recent) recent.update(1);
      else {
        total.update((total.value() ?? 0) + payment.amount!);
        out.collect(`${ctx.getCurrentKey()}=${total.value()}`);
      }
    },
    processBroadcastElement(command, ctx) {
      ctx.getBroadcastState(ADMIN).put('last', command.kind);
      if (command.kind === 'visit-recent') {
        ctx.applyToKeyedState(RECENT, (user, state) => void visited.push([user, state.value()]));
        return;
      }
      ctx.applyToKeyedState(TOTAL, {
        process(user, state) {
          const value = state.value()!;
          visited.push([user, value]);
          if (command.kind !== 'halve') return;
          if (value % 2 === 0) state.update(value / 2);
          else state.clear();
        },
      });
    },
  };
};

const applyRoot = await mkdtemp(join(tmpdir(), 'sluice-apply-to-keyed-state-'));
after(() => rm(applyRoot, { recursive: true, force: true }));
let applyDirectories = 0;

class RecordingOutput implements Output {
  readonly values: unknown[] = [];
  collect(value: unknown): void {
    this.values.push(value);
  }
  collectSide(): void {}
  emitWatermark(): void {}
  emitIdle(): void {}
}

const MAX_PARALLELISM_APPLY = 128;
const CACHE_ENTRIES = 1_000;

async function newBackend(kind: StateBackendKind, range: KeyGroupRange): Promise<KeyedStateBackend> {
  const options = { keyGroupRange: range, maxParallelism: MAX_PARALLELISM_APPLY };
  if (kind === 'memory') return new InMemoryKeyedStateBackend(options);
  return LevelDbKeyedStateBackend.create({ ...options, workingDirectory: join(applyRoot, `backend-${applyDirectories++}`), cacheCapacityEntries: CACHE_ENTRIES, flushThresholdEntries: 200 });
}

/** One subtask of the keyed broadcast operator with its task: input 0 payments, input 1 commands. */
async function applySubtask(kind: StateBackendKind, options: { parallelism?: number; subtask?: number; clock?: ManualClock; restore?: OperatorSnapshot[] } = {}) {
  const { parallelism = 1, subtask = 0, clock = new ManualClock(0) } = options;
  const range = keyGroupRangeForSubtask(MAX_PARALLELISM_APPLY, parallelism, subtask);
  const backend = await newBackend(kind, range);
  const visited: Array<[string, number | undefined]> = [];
  const output = new RecordingOutput();
  const operator = new KeyedBroadcastProcessOperator(halvingFunction(visited) as KeyedBroadcastProcessFunction<unknown, unknown, unknown, unknown>, [ADMIN]);
  let wake: (() => void) | undefined;
  operator.setup({
    uid: 'apply',
    name: 'apply',
    subtaskIndex: subtask,
    parallelism,
    maxParallelism: MAX_PARALLELISM_APPLY,
    properties: {},
    clock,
    output,
    wakeUp: () => wake?.(),
    keyed: { backend, keySelectors: [(p: Payment2) => p.user, undefined] },
  });
  if (options.restore) await operator.restoreState(options.restore);
  operator.initializeState();
  operator.open();
  const vertex: TaskVertex = { id: 1, name: 'apply', nodeIds: [1], parallelism, inputs: [], isSource: false };
  const task = new StreamTask(vertex, subtask, [{ uid: 'apply', operator }], { acknowledgeCheckpoint: () => {} });
  const channels = ([0, 1] as const).map((input) => {
    const channel = new InputChannel(input, `in-${input}`, () => (task.hasInput = true));
    task.addChannel(channel);
    return channel;
  });
  return {
    operator,
    backend,
    range,
    visited,
    output,
    pay: (...payments: Payment2[]) => channels[0]!.push({ kind: 'records', values: payments, timestamps: payments.map(() => 0) }),
    command: (...commands: Command[]) => channels[1]!.push({ kind: 'records', values: commands, timestamps: commands.map(() => 0) }),
    /** One sweep of the task over its inputs. */
    processInput: () => task.processInput(),
    /** Processes what is there: the task's turns, each woken by the operator, until nothing waits. */
    async settle(): Promise<void> {
      for (;;) {
        task.processInput();
        if (task.nextProcessingTimerMs() <= clock.now()) {
          task.fireProcessingTimers(clock.now());
          continue;
        }
        if (!operator.isInputBlocked()) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    /** A checkpoint of the operator, with the keyed state read out (as the checkpoint writer would). */
    async checkpoint(checkpointId: number): Promise<OperatorSnapshot> {
      const { keyedReader, ...snapshot } = await operator.snapshotState(checkpointId);
      if (keyedReader === undefined) return snapshot;
      const raw = [];
      for (const keyGroup of keyedReader.keyGroups) raw.push({ keyGroup, entries: [], rawPairs: await keyedReader.readRaw(keyGroup) });
      await keyedReader.close();
      return { ...snapshot, keyed: { maxParallelism: MAX_PARALLELISM_APPLY, keyGroups: mergeKeyGroups([...(snapshot.keyed?.keyGroups ?? []), ...raw]) } };
    },
  };
}

const USERS = 5_000;
const user = (i: number) => `user-${i}`;

for (const kind of ['memory', 'leveldb'] as const) {
  describe(`applyToKeyedState (${kind} backend)`, () => {
    it('visits exactly the keys holding the state, reads, updates and clears them, before any later input; the effects survive a checkpoint and a restore at another parallelism', async () => {
      const subtask = await applySubtask(kind);
      try {
        // total = i + 1 for every user; users 0..99 then clear theirs (written to the database
        // long before: removed in the cache); users 5000..5099 hold only `seen`. The last writes
        // are in the cache and in overlays on their way.
        subtask.pay(...Array.from({ length: USERS }, (_, i) => ({ user: user(i), amount: i + 1 })));
        await subtask.settle();
        if (subtask.backend instanceof LevelDbKeyedStateBackend) await subtask.backend.whenFlushed();
        subtask.pay(...Array.from({ length: 100 }, (_, i) => ({ user: user(i), clear: true })));
        subtask.pay(...Array.from({ length: 100 }, (_, i) => ({ user: user(USERS + i), seenOnly: true })));
        subtask.pay(...Array.from({ length: 500 }, (_, i) => ({ user: user(USERS - 1 - i), amount: 0 })));
        await subtask.settle();
        if (subtask.backend instanceof LevelDbKeyedStateBackend) {
          const status = subtask.backend.getStatus();
          assert.ok(status.dirtyEntries > 0 || status.pendingFlushes > 0, 'some values are not in the database yet');
        }
        subtask.output.values.length = 0;

        // The command with a second one right behind it; payments once the first was taken.
        subtask.command({ kind: 'halve' }, { kind: 'visit' });
        subtask.processInput();
        subtask.pay({ user: user(100), amount: 1000 }, { user: user(101), amount: 1000 }, { user: user(0), amount: 7 });
        subtask.processInput();
        if (kind === 'leveldb') {
          assert.ok(subtask.operator.isInputBlocked(), 'LevelDB lists the keys asynchronously');
          assert.deepEqual([subtask.visited.length, subtask.output.values.length], [0, 0], 'nothing ran meanwhile');
        }
        await subtask.settle();

        const expectedHalving = Array.from({ length: USERS - 100 }, (_, j) => [user(j + 100), j + 101] as [string, number]);
        const halving = subtask.visited.slice(0, expectedHalving.length);
        assert.deepEqual(new Map(halving), new Map(expectedHalving), 'the halving visits every user with a total, with its total');
        assert.equal(halving.length, expectedHalving.length, 'each once');
        const keptAfterHalving = expectedHalving.filter(([, total]) => total % 2 === 0).map(([u, total]) => [u, total / 2] as [string, number]);
        assert.deepEqual(new Map(subtask.visited.slice(expectedHalving.length)), new Map(keptAfterHalving), 'the second command sees the first one applied: halves kept, odd ones cleared');
        // user-100's total 101 was odd (cleared), user-101's 102 halved to 51; user-0 starts over.
        assert.deepEqual(subtask.output.values, ['user-100=1000', 'user-101=1051', 'user-0=7']);

        // A checkpoint now, restored on subtask 1 of 3: it sees its own keys only, as they are.
        const snapshot = await subtask.checkpoint(1);
        const restored = await applySubtask(kind, { parallelism: 3, subtask: 1, restore: [snapshot] });
        try {
          restored.command({ kind: 'visit' });
          await restored.settle();
          const expected = new Map(keptAfterHalving);
          expected.set(user(100), 1000);
          expected.set(user(101), 1051);
          expected.set(user(0), 7);
          const inRange = [...expected].filter(([u]) => restored.range.contains(assignToKeyGroup(u, MAX_PARALLELISM_APPLY)));
          assert.ok(inRange.length > 500 && inRange.length < expected.size - 500);
          assert.deepEqual(new Map(restored.visited), new Map(inRange));
          assert.equal(restored.visited.length, inRange.length);
          // Later payments build on the restored values.
          const someone = inRange[0]![0];
          restored.pay({ user: someone, amount: 1 });
          await restored.settle();
          assert.deepEqual(restored.output.values, [`${someone}=${expected.get(someone)! + 1}`]);
        } finally {
          await restored.backend.dispose();
        }
      } finally {
        await subtask.backend.dispose();
      }
    });

    it('leaves out values whose time-to-live has expired', async () => {
      const clock = new ManualClock(0);
      const subtask = await applySubtask(kind, { clock });
      try {
        subtask.pay(...Array.from({ length: 2_000 }, (_, i) => ({ user: user(i), recent: true })));
        await subtask.settle();
        clock.advance(TTL_MS - 1);
        subtask.pay(...Array.from({ length: 300 }, (_, i) => ({ user: user(1_000 + i), recent: true })));
        await subtask.settle();
        clock.advance(1); // the first writes expire now, the later ones in TTL_MS - 1
        subtask.command({ kind: 'visit-recent' });
        await subtask.settle();
        assert.deepEqual(subtask.visited.map(([u]) => u).sort(), Array.from({ length: 300 }, (_, i) => user(1_000 + i)).sort());
        assert.ok(subtask.visited.every(([, value]) => value === 1));
      } finally {
        await subtask.backend.dispose();
      }
    });
  });
}
