// Window joins and interval joins against hand-computed expectations (Flink's semantics: a window
// join is the per-window, per-key cross product; an interval join pairs a left record at t with
// right records of the same key in [t + lower, t + upper], drops late records, and stamps each
// pair with the larger of the two timestamps).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type ProcessJoinFunction,
} from '../../shared/api/index.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { runEmbedded } from '../testing/embedded-harness.ts';
import { deterministicEnv as newEnv, multiset } from '../testing/pipeline-helpers.ts';

interface Rec {
  readonly key: string;
  readonly ts: number;
  readonly id: string;
}

const rec = (key: string, ts: number, id: string): Rec => ({ key, ts, id });
const byTs = () => WatermarkStrategy.forMonotonousTimestamps<Rec>().withTimestampAssigner((r) => r.ts);

describe('window join', () => {
  const left = [rec('a', 1, 'L1'), rec('a', 3, 'L2'), rec('b', 4, 'L3'), rec('c', 5, 'L4'), rec('a', 12, 'L5')];
  const right = [rec('a', 2, 'R1'), rec('b', 8, 'R2'), rec('b', 9, 'R3'), rec('a', 10, 'R6'), rec('a', 15, 'R4'), rec('a', 25, 'R5')];
  // [0,10):  a: {L1,L2}×{R1}; b: {L3}×{R2,R3}; c: {L4}×{} → nothing
  // [10,20): a: {L5}×{R6,R4}
  // [20,30): a: {}×{R5} → nothing
  const expected = [
    { value: 'L1+R1', timestamp: 9 },
    { value: 'L2+R1', timestamp: 9 },
    { value: 'L3+R2', timestamp: 9 },
    { value: 'L3+R3', timestamp: 9 },
    { value: 'L5+R6', timestamp: 19 },
    { value: 'L5+R4', timestamp: 19 },
  ];

  for (const parallelism of [1, 3]) {
    it(`tumbling window join is the per-key, per-window cross product (parallelism ${parallelism})`, async () => {
      const env = newEnv(parallelism);
      const sink = new CollectSink<string>();
      const a = env.fromCollection(left, byTs());
      const b = env.fromCollection(right, byTs());
      a.join(b)
        .where((l) => l.key)
        .equalTo((r) => r.key)
        .window(TumblingEventTimeWindows.of(10))
        .apply((l, r) => `${l.id}+${r.id}`)
        .sinkTo(sink);
      await runEmbedded(env);
      assert.deepEqual(multiset(sink.committed), multiset(expected));
    });
  }

  it('sliding window join emits a pair once per window both records share', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    // size 10, slide 5. L(a,7) and R(a,8) share [0,10) and [5,15): two results.
    // L(a,3) is in [-5,5) and [0,10); R(a,8) in [0,10) and [5,15): they share [0,10) only.
    const a = env.fromCollection([rec('a', 3, 'L3'), rec('a', 7, 'L7')], byTs());
    const b = env.fromCollection([rec('a', 8, 'R8')], byTs());
    a.join(b)
      .where((l) => l.key)
      .equalTo((r) => r.key)
      .window(SlidingEventTimeWindows.of(10, 5))
      .apply((l, r) => `${l.id}+${r.id}`)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'L3+R8', timestamp: 9 },
      { value: 'L7+R8', timestamp: 9 },
      { value: 'L7+R8', timestamp: 14 },
    ]));
  });

  it('keys are compared by value, so equal keys from different selectors meet', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const a = env.fromCollection([{ user: 7, ts: 1, name: 'x' }], WatermarkStrategy.forMonotonousTimestamps<{ user: number; ts: number; name: string }>().withTimestampAssigner((r) => r.ts));
    const b = env.fromCollection([{ uid: '7', ts: 2, amount: 5 }], WatermarkStrategy.forMonotonousTimestamps<{ uid: string; ts: number; amount: number }>().withTimestampAssigner((r) => r.ts));
    a.join(b)
      .where((l) => l.user)
      .equalTo((r) => Number(r.uid))
      .window(TumblingEventTimeWindows.of(10))
      .apply((l, r) => `${l.name}:${r.amount}`)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, ['x:5']);
  });
});

describe('interval join', () => {
  // Left and right in timestamp order per source.
  const left = [rec('a', 10, 'L10'), rec('b', 10, 'Lb10'), rec('a', 20, 'L20')];
  const right = [rec('a', 7, 'R7'), rec('a', 8, 'R8'), rec('a', 10, 'R10'), rec('a', 11, 'R11'), rec('a', 12, 'R12'), rec('b', 12, 'Rb12'), rec('a', 19, 'R19')];

  const join = (lowerExclusive: boolean, upperExclusive: boolean, parallelism = 1) => async () => {
    const env = newEnv(parallelism);
    const sink = new CollectSink<string>();
    const fn: ProcessJoinFunction<Rec, Rec, string> = {
      processElement(l, r, ctx, out) {
        out.collect(`${l.id}+${r.id} l=${ctx.leftTimestamp()} r=${ctx.rightTimestamp()} t=${ctx.timestamp()}`);
      },
    };
    let builder = env
      .fromCollection(left, byTs())
      .keyBy((l) => l.key)
      .intervalJoin(env.fromCollection(right, byTs()).keyBy((r) => r.key))
      .between(-2, 1);
    if (lowerExclusive) builder = builder.lowerBoundExclusive();
    if (upperExclusive) builder = builder.upperBoundExclusive();
    builder.process(fn).sinkTo(sink);
    await runEmbedded(env);
    return sink.committed;
  };

  it('between(-2, 1): a left record at t meets right records in [t-2, t+1]; output time = max of both', async () => {
    // L10: [8,11] → R8, R10, R11; Lb10: [8,11] → (Rb12 is outside); L20: [18,21] → R19.
    assert.deepEqual(multiset(await join(false, false)()), multiset([
      { value: 'L10+R8 l=10 r=8 t=10', timestamp: 10 },
      { value: 'L10+R10 l=10 r=10 t=10', timestamp: 10 },
      { value: 'L10+R11 l=10 r=11 t=11', timestamp: 11 },
      { value: 'L20+R19 l=20 r=19 t=20', timestamp: 20 },
    ]));
  });

  it('between(-2, 1) gives the same pairs at parallelism 3', async () => {
    assert.deepEqual(multiset(await join(false, false, 3)()), multiset([
      { value: 'L10+R8 l=10 r=8 t=10', timestamp: 10 },
      { value: 'L10+R10 l=10 r=10 t=10', timestamp: 10 },
      { value: 'L10+R11 l=10 r=11 t=11', timestamp: 11 },
      { value: 'L20+R19 l=20 r=19 t=20', timestamp: 20 },
    ]));
  });

  it('lowerBoundExclusive(): (t-2, t+1]', async () => {
    assert.deepEqual(multiset(await join(true, false)()), multiset([
      { value: 'L10+R10 l=10 r=10 t=10', timestamp: 10 },
      { value: 'L10+R11 l=10 r=11 t=11', timestamp: 11 },
      { value: 'L20+R19 l=20 r=19 t=20', timestamp: 20 },
    ]));
  });

  it('upperBoundExclusive(): [t-2, t+1)', async () => {
    assert.deepEqual(multiset(await join(false, true)()), multiset([
      { value: 'L10+R8 l=10 r=8 t=10', timestamp: 10 },
      { value: 'L10+R10 l=10 r=10 t=10', timestamp: 10 },
      { value: 'L20+R19 l=20 r=19 t=20', timestamp: 20 },
    ]));
  });

  it('both bounds exclusive: (t-2, t+1)', async () => {
    assert.deepEqual(multiset(await join(true, true)()), multiset([
      { value: 'L10+R10 l=10 r=10 t=10', timestamp: 10 },
      { value: 'L20+R19 l=20 r=19 t=20', timestamp: 20 },
    ]));
  });

  it('records behind the watermark are dropped (counted), on either side', async () => {
    // One source feeds both sides so both inputs see the same watermarks; one record per poll
    // makes the order of records and watermarks at the join exactly the source order.
    interface Tagged extends Rec {
      readonly side: 'L' | 'R';
    }
    const t = (side: 'L' | 'R', ts: number): Tagged => ({ side, key: 'a', ts, id: `${side}${ts}` });
    const events: Tagged[] = [
      t('R', 4), // wm 3
      t('L', 5), // meets R4 (in [0,10]); wm 4
      t('R', 20), // wm 19; R4 and L5 are cleaned up
      t('L', 16), // 16 < 19: late, dropped (it would meet R20)
      t('R', 18), // 18 < 19: late, dropped (it would meet L22 below)
      t('L', 22), // meets R20 (in [17,27]); not R18, which was dropped
    ];
    const env = newEnv();
    const sink = new CollectSink<string>();
    const source = env.fromCollection(events, WatermarkStrategy.forBoundedOutOfOrderness<Tagged>(0).withTimestampAssigner((e) => e.ts));
    const lefts = source.filter((e) => e.side === 'L').keyBy((e) => e.key);
    const rights = source.filter((e) => e.side === 'R').keyBy((e) => e.key);
    lefts
      .intervalJoin(rights)
      .between(-5, 5)
      .process({
        processElement(l: Tagged, r: Tagged, _ctx, out) {
          out.collect(`${l.id}+${r.id}`);
        },
      } as ProcessJoinFunction<Tagged, Tagged, string>)
      .sinkTo(sink);
    const result = await runEmbedded(env, { sourceBatchSize: 1 });
    assert.deepEqual(sink.committed, [
      { value: 'L5+R4', timestamp: 5 },
      { value: 'L22+R20', timestamp: 22 },
    ]);
    assert.equal(result.status.lateRecordsDropped, 2);
  });

  it('a record on the watermark itself is not late (late means timestamp < watermark)', async () => {
    interface Tagged extends Rec {
      readonly side: 'L' | 'R';
    }
    const t = (side: 'L' | 'R', ts: number): Tagged => ({ side, key: 'a', ts, id: `${side}${ts}` });
    const events: Tagged[] = [
      t('R', 11), // wm 10
      t('L', 10), // ts == wm: not late; meets R11 in [8, 11]
    ];
    const env = newEnv();
    const sink = new CollectSink<string>();
    const source = env.fromCollection(events, WatermarkStrategy.forBoundedOutOfOrderness<Tagged>(0).withTimestampAssigner((e) => e.ts));
    source
      .filter((e) => e.side === 'L')
      .keyBy((e) => e.key)
      .intervalJoin(source.filter((e) => e.side === 'R').keyBy((e) => e.key))
      .between(-2, 1)
      .process({
        processElement(l: Tagged, r: Tagged, _ctx, out) {
          out.collect(`${l.id}+${r.id}`);
        },
      } as ProcessJoinFunction<Tagged, Tagged, string>)
      .sinkTo(sink);
    const result = await runEmbedded(env, { sourceBatchSize: 1 });
    assert.deepEqual(sink.committed, [{ value: 'L10+R11', timestamp: 11 }]);
    assert.equal(result.status.lateRecordsDropped, 0);
  });

  it('between() with lower > upper is refused at pipeline build', () => {
    const env = newEnv();
    const a = env.fromCollection(left, byTs()).keyBy((l) => l.key);
    const b = env.fromCollection(right, byTs()).keyBy((r) => r.key);
    assert.throws(() => a.intervalJoin(b).between(3, 1), /lower bound \(3\) must be ≤ upper bound \(1\)/);
  });

  it('records without event timestamps fail the job with an error that says so', async () => {
    const env = newEnv();
    const a = env.fromCollection(left).keyBy((l) => l.key);
    const b = env.fromCollection(right).keyBy((r) => r.key);
    a.intervalJoin(b)
      .between(-1, 1)
      .process({ processElement() {} } as ProcessJoinFunction<Rec, Rec, string>)
      .sinkTo(new CollectSink<string>());
    await assert.rejects(runEmbedded(env), /event timestamps/);
  });
});
