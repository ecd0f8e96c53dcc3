// CEP in embedded jobs, on both state backends: matches per key in event time from input that
// arrives out of order, timed-out partial matches and late records on side outputs, records
// stamped with their match's time; and a job that fails in the middle of a match and restores
// from its checkpoint, whose output has every match once (partial matches, buffered elements and
// the shared buffer's events all come back from keyed state). Expected output written by hand.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CEP,
  OutputTag,
  Pattern,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  type Collector,
  type PatternProcessContext,
  type PatternProcessFunction,
  type TimedOutPartialMatchHandler,
} from '../../shared/api/index.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { EmbeddedExecutor } from '../runtime/embedded-executor.ts';
import type { StateBackendKind } from '../state/keyed-state-backend.ts';
import { embeddedOptions, runEmbedded } from '../testing/embedded-harness.ts';
import { GatedSource } from '../testing/gated-source.ts';
import { deterministicEnv, multiset } from '../testing/pipeline-helpers.ts';
import { ScriptedBoundedSource } from '../testing/scripted-bounded-source.ts';

const root = await mkdtemp(join(tmpdir(), 'sluice-cep-'));
after(() => rm(root, { recursive: true, force: true }));

interface Login {
  readonly user: string;
  readonly ok: boolean;
  readonly t: number;
}

const fail = (user: string, t: number): Login => ({ user, ok: false, t });
const success = (user: string, t: number): Login => ({ user, ok: true, t });

/** Three failed logins in a row, then a success, within 10 s of the first failure. */
const bruteForce = () =>
  Pattern.begin<Login>('fails')
    .where((l) => !l.ok)
    .times(3)
    .consecutive()
    .next('success')
    .where((l) => l.ok)
    .within(10_000);

const TIMED_OUT = new OutputTag<string>('timed-out');
const LATE = new OutputTag<Login>('late');

class Alerts implements PatternProcessFunction<Login, string>, TimedOutPartialMatchHandler<Login> {
  processMatch(match: Map<string, Login[]>, ctx: PatternProcessContext, out: Collector<string>): void {
    const fails = match.get('fails')!;
    out.collect(`${fails[0]!.user}: failed at ${fails.map((l) => l.t).join(',')}, then in at ${match.get('success')![0]!.t} (match time ${ctx.timestamp()})`);
  }

  processTimedOutMatch(match: Map<string, Login[]>, ctx: PatternProcessContext): void {
    const fails = match.get('fails')!;
    ctx.output(TIMED_OUT, `${fails[0]!.user}: failed at ${fails.map((l) => l.t).join(',')}, timed out at ${ctx.timestamp()}`);
  }
}

const options = (kind: StateBackendKind, storage: InMemoryCheckpointStorage, extra: Parameters<typeof embeddedOptions>[2] = {}) =>
  embeddedOptions('cep', storage, { stateBackend: kind, stateDirectory: join(root, `${kind}-${Math.random().toString(36).slice(2)}`), ...extra });

for (const kind of ['memory', 'leveldb'] as const) {
  describe(`CEP in an embedded job (${kind})`, () => {
    it('matches in event time whatever the arrival order; timeouts and late records go to side outputs', async () => {
      const arrivals: Login[] = [
        fail('a', 1_000),
        fail('a', 2_000),
        success('a', 4_000), // before a's third failure arrives: in arrival order, no match
        fail('a', 3_000), // 1 s out of order, within the 2 s bound
        fail('b', 5_000),
        fail('b', 6_000), // b never logs in: two partial matches time out
        fail('c', 100), // behind the watermark (6 000 - 2 000 - 1): late
      ];
      const env = deterministicEnv(2);
      const matches = new CollectSink<string>();
      const timedOut = new CollectSink<string>();
      const late = new CollectSink<Login>();
      const logins = env
        .fromSource(new ScriptedBoundedSource(arrivals, 1), WatermarkStrategy.forBoundedOutOfOrderness<Login>(2_000).withTimestampAssigner((l) => l.t), 'logins')
        .keyBy((l) => l.user);
      const alerts = CEP.pattern(logins, bruteForce()).sideOutputLateData(LATE).process(() => new Alerts());
      alerts.sinkTo(matches);
      alerts.getSideOutput(TIMED_OUT).sinkTo(timedOut);
      alerts.getSideOutput(LATE).sinkTo(late);
      const result = await runEmbedded(env, options(kind, new InMemoryCheckpointStorage()));

      assert.equal(result.state, 'finished');
      assert.deepEqual(
        matches.committed.map((r) => [r.value, r.timestamp]),
        [['a: failed at 1000,2000,3000, then in at 4000 (match time 4000)', 4_000]],
      );
      assert.deepEqual(multiset(timedOut.values), multiset(['b: failed at 5000,6000, timed out at 15000', 'b: failed at 6000, timed out at 16000']));
      assert.deepEqual(late.values, [fail('c', 100)]);
    });

    it('a restore from a checkpoint taken in the middle of a match loses and doubles nothing', async () => {
      const storage = new InMemoryCheckpointStorage();
      const matches = new CollectSink<string>();
      const logins: Login[] = [
        fail('v', 100), fail('v', 200), fail('v', 300), success('v', 400), // v's match, before the checkpoint
        fail('u', 1_000), fail('u', 2_000), // u's match in progress at the checkpoint
        fail('u', 3_000), success('u', 4_000), // read again after the restore
      ];
      const job = (source: GatedSource<Login>) => {
        const env = new StreamExecutionEnvironment().setAutoWatermarkInterval(0);
        const stream = env.fromSource(source, WatermarkStrategy.forBoundedOutOfOrderness<Login>(0).withTimestampAssigner((l) => l.t), 'logins').uid('logins');
        CEP.pattern(stream.keyBy((l) => l.user), bruteForce()).process(() => new Alerts()).uid('alerts').sinkTo(matches).uid('sink');
        return env;
      };

      const first = new GatedSource(logins);
      const executor = await EmbeddedExecutor.create(job(first), options(kind, storage, { checkpointIntervalMs: 10 }));
      first.release(6);
      const running = executor.run();
      try {
        await waitFor('six records read', 10_000, () => executor.getStatus().recordsRead === 6);
        await waitFor('v matched and its match committed', 10_000, () => matches.committed.length === 1);
        const before = executor.getStatus().checkpoints.completed;
        await waitFor('a checkpoint with u half matched', 10_000, () => executor.getStatus().checkpoints.completed >= before + 1);
      } catch (error) {
        executor.stop(); // the source never ends by itself: a failed wait must not leave the job running
        throw error;
      }
      first.failAt = 6;
      first.release(2);
      await assert.rejects(running, /injected failure before record 6/);
      await waitFor('the checkpoint in flight at the failure to settle', 5_000, () => !executor.getStatus().checkpoints.inProgress);

      const ids = await storage.listCompleted();
      const second = new GatedSource(logins);
      second.releaseAllAndEnd();
      const restored = await EmbeddedExecutor.create(job(second), options(kind, storage, { restore: { storage, checkpointId: ids[ids.length - 1]! } }));
      assert.equal((await restored.run()).state, 'finished');
      assert.deepEqual(multiset(matches.values), multiset([
        'v: failed at 100,200,300, then in at 400 (match time 400)',
        'u: failed at 1000,2000,3000, then in at 4000 (match time 4000)',
      ]));
    });
  });
}

describe('CEP on a stream that is not keyed', () => {
  it('matches the whole stream as one sequence, on one subtask', async () => {
    const env = deterministicEnv(3);
    const sink = new CollectSink<string>();
    const stream = env.fromSource(
      new ScriptedBoundedSource([fail('x', 1), fail('y', 2), fail('z', 3), success('w', 4)], 1),
      WatermarkStrategy.forMonotonousTimestamps<Login>().withTimestampAssigner((l) => l.t),
      'logins',
    );
    const operator = CEP.pattern(stream, bruteForce()).select((match) => [...match.values()].flat().map((l) => l.user).join(''));
    operator.sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, ['xyzw']);
    assert.equal(operator.node.parallelism, 1);
    assert.equal(operator.node.name, 'CepOperator');
  });

  it('refuses records without timestamps and processing time, naming the fix', async () => {
    const env = deterministicEnv(1);
    CEP.pattern(env.fromCollection([fail('x', 1)]).keyBy((l) => l.user), bruteForce()).select(() => 1).sinkTo(new CollectSink());
    await assert.rejects(runEmbedded(env), /timestamp assigner/);
    assert.throws(() => CEP.pattern(env.fromCollection([1]), Pattern.begin<number>('a')).inProcessingTime(), /event time/);
  });
});
