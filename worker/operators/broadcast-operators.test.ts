// The broadcast state pattern: rules broadcast to every subtask of a keyed operator that checks
// events against them; the broadcast state is read-only on the event side, names the state a
// function asks for that was not declared, and comes back on every subtask after a restore at a
// higher parallelism; a job with broadcast state rescales by restart.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MapStateDescriptor,
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
