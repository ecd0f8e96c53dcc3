// The window operator end to end, one named case per behaviour: tumbling, sliding and session
// windows with reduce/aggregate/process, incremental aggregation with a ProcessWindowFunction,
// allowed lateness (late firings), late data to a side output, count windows, GlobalWindows with
// custom triggers, processing-time windows on a ManualClock, and pipeline-build errors.
// Unless said otherwise: watermarks follow every record (interval 0) and trail the highest
// timestamp by 1 ms (forMonotonousTimestamps); results carry the window's end - 1 as timestamp.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CountTrigger,
  EventTimeSessionWindows,
  GlobalWindows,
  OutputTag,
  SlidingEventTimeWindows,
  TimeWindow,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type GlobalWindow,
  type ProcessWindowFunction,
  type Trigger,
  type TriggerResult,
} from '../../shared/api/index.ts';
import { ManualClock } from '../../shared/clock.ts';
import { InvalidPipelineError } from '../../shared/errors.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { InMemoryDeadLetterOutput } from '../runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../runtime/embedded-executor.ts';
import { runEmbedded } from '../testing/embedded-harness.ts';
import { deterministicEnv as newEnv, multiset } from '../testing/pipeline-helpers.ts';
import { GatedSource } from '../testing/gated-source.ts';

interface Ev {
  readonly key: string;
  readonly ts: number;
  readonly v: number;
}

const ev = (key: string, ts: number, v: number): Ev => ({ key, ts, v });
const monotonous = () => WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.ts);
const outOfOrder = (ms: number) => WatermarkStrategy.forBoundedOutOfOrderness<Ev>(ms).withTimestampAssigner((e) => e.ts);
const sumV = (a: Ev, b: Ev): Ev => ({ key: a.key, ts: Math.max(a.ts, b.ts), v: a.v + b.v });

const sumAndCount: AggregateFunction<Ev, { sum: number; count: number }, string> = {
  createAccumulator: () => ({ sum: 0, count: 0 }),
  add: (e, acc) => ({ sum: acc.sum + e.v, count: acc.count + 1 }),
  getResult: (acc) => `sum=${acc.sum} count=${acc.count}`,
  merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
};

/** `key [start,end) ...` for a ProcessWindowFunction over time windows. */
const describeWindow = (key: string, w: TimeWindow) => `${key} [${w.start},${w.end})`;

describe('tumbling event-time windows', () => {
  const input = [ev('a', 1, 1), ev('b', 2, 2), ev('a', 5, 3), ev('a', 11, 4), ev('b', 13, 5), ev('a', 25, 6)];

  it('tumbling + reduce: one result per key and window, stamped window end - 1', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection(input, monotonous())
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10))
      .reduce(sumV)
      .map((e) => `${e.key}=${e.v}`)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a=4', timestamp: 9 },
      { value: 'b=2', timestamp: 9 },
      { value: 'a=4', timestamp: 19 },
      { value: 'b=5', timestamp: 19 },
      { value: 'a=6', timestamp: 29 },
    ]));
  });

  it('tumbling + reduce at parallelism 4 gives the same multiset', async () => {
    const env = newEnv(4);
    const sink = new CollectSink<string>();
    env
      .fromCollection(input, monotonous())
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10))
      .reduce(sumV)
      .map((e) => `${e.key}=${e.v}`)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset(['a=4', 'b=2', 'a=4', 'b=5', 'a=6']));
  });

  it('tumbling + aggregate: AggregateFunction result per key and window', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env.fromCollection(input, monotonous()).keyBy((e) => e.key).window(TumblingEventTimeWindows.of(10)).aggregate(sumAndCount).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'sum=4 count=2', timestamp: 9 },
      { value: 'sum=2 count=1', timestamp: 9 },
      { value: 'sum=4 count=1', timestamp: 19 },
      { value: 'sum=5 count=1', timestamp: 19 },
      { value: 'sum=6 count=1', timestamp: 29 },
    ]));
  });

  it('tumbling + process: the function sees the key, the window and every element', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const fn: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
      process(key, ctx, elements, out) {
        out.collect(`${describeWindow(key, ctx.window)} ${elements.map((e) => e.v).join(',')}`);
      },
    };
    env.fromCollection(input, monotonous()).keyBy((e) => e.key).window<TimeWindow>(TumblingEventTimeWindows.of(10)).process(fn).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a [0,10) 1,3', timestamp: 9 },
      { value: 'b [0,10) 2', timestamp: 9 },
      { value: 'a [10,20) 4', timestamp: 19 },
      { value: 'b [10,20) 5', timestamp: 19 },
      { value: 'a [20,30) 6', timestamp: 29 },
    ]));
  });

  it('tumbling with an offset: windows start at offset + n * size', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const fn: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
      process(key, ctx, elements, out) {
        out.collect(`${describeWindow(key, ctx.window)} ${elements.map((e) => e.v).join(',')}`);
      },
    };
    // size 10, offset 3: [-7,3), [3,13), [13,23)
    env
      .fromCollection([ev('a', 2, 1), ev('a', 3, 2), ev('a', 12, 3), ev('a', 13, 4)], monotonous())
      .keyBy((e) => e.key)
      .window<TimeWindow>(TumblingEventTimeWindows.of(10, 3))
      .process(fn)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 'a [-7,3) 1', timestamp: 2 },
      { value: 'a [3,13) 2,3', timestamp: 12 },
      { value: 'a [13,23) 4', timestamp: 22 },
    ]);
  });

  it('windows fire as the watermark passes their end, before later records arrive', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const seenAt: string[] = [];
    env
      .fromCollection([ev('a', 1, 1), ev('a', 9, 2), ev('a', 10, 3), ev('a', 11, 4)], monotonous())
      .keyBy((e) => e.key)
      .window<TimeWindow>(TumblingEventTimeWindows.of(10))
      .process({
        process(key, ctx, elements, out) {
          seenAt.push(`${describeWindow(key, ctx.window)} wm=${ctx.currentWatermark()}`);
          out.collect(elements.map((e) => e.v).join(','));
        },
      } as ProcessWindowFunction<Ev, string, string, TimeWindow>)
      .sinkTo(sink);
    await runEmbedded(env);
    // ts 10 gives watermark 9 = the end - 1 of [0,10): it fires then, not at ts 11.
    assert.deepEqual(seenAt, ['a [0,10) wm=9', 'a [10,20) wm=Infinity']);
    assert.deepEqual(sink.values, ['1,2', '3,4']);
  });

  it('a record without an event timestamp fails an event-time window with a clear error', async () => {
    const env = newEnv();
    env
      .fromCollection([ev('a', 1, 1)])
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10))
      .reduce(sumV)
      .sinkTo(new CollectSink<Ev>());
    await assert.rejects(runEmbedded(env), /no event timestamp/);
  });
});

describe('sliding event-time windows', () => {
  it('sliding(10, 5) + reduce: each record counts in size/slide windows', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    // a@1 → [-5,5), [0,10); a@7 → [0,10), [5,15); a@12 → [5,15), [10,20)
    env
      .fromCollection([ev('a', 1, 1), ev('a', 7, 2), ev('a', 12, 4)], monotonous())
      .keyBy((e) => e.key)
      .window(SlidingEventTimeWindows.of(10, 5))
      .reduce(sumV)
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 1, timestamp: 4 },
      { value: 3, timestamp: 9 },
      { value: 6, timestamp: 14 },
      { value: 4, timestamp: 19 },
    ]);
  });

  it('sliding(10, 5) + aggregate, two keys', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection([ev('a', 3, 1), ev('b', 6, 10), ev('a', 8, 2)], monotonous())
      .keyBy((e) => e.key)
      .window(SlidingEventTimeWindows.of(10, 5))
      .aggregate(sumAndCount)
      .sinkTo(sink);
    await runEmbedded(env);
    // a@3 → [-5,5), [0,10); b@6 → [0,10), [5,15); a@8 → [0,10), [5,15)
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'sum=1 count=1', timestamp: 4 }, // a [-5,5)
      { value: 'sum=3 count=2', timestamp: 9 }, // a [0,10)
      { value: 'sum=10 count=1', timestamp: 9 }, // b [0,10)
      { value: 'sum=2 count=1', timestamp: 14 }, // a [5,15)
      { value: 'sum=10 count=1', timestamp: 14 }, // b [5,15)
    ]));
  });
});

describe('event-time session windows', () => {
  // gap 5, out-of-orderness 10 so that a@6 arrives before the first sessions close.
  // a@1, a@3 → [1,8); a@10 → [10,15); a@6 → [6,11) bridges both → [1,15). b@2 → [2,7).
  // a@30 → [30,35). Watermark after a@30 is 19: [1,15) and [2,7) fire; [30,35) at the end.
  const input = [ev('a', 1, 1), ev('a', 3, 2), ev('a', 10, 4), ev('a', 6, 8), ev('b', 2, 16), ev('a', 30, 32)];

  it('session + reduce: sessions merge when a record bridges them', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection(input, outOfOrder(10))
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withGap(5))
      .reduce(sumV)
      .map((e) => `${e.key}=${e.v}`)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a=15', timestamp: 14 },
      { value: 'b=16', timestamp: 6 },
      { value: 'a=32', timestamp: 34 },
    ]));
  });

  it('session + aggregate (with merge): merged accumulators', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env.fromCollection(input, outOfOrder(10)).keyBy((e) => e.key).window(EventTimeSessionWindows.withGap(5)).aggregate(sumAndCount).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'sum=15 count=4', timestamp: 14 },
      { value: 'sum=16 count=1', timestamp: 6 },
      { value: 'sum=32 count=1', timestamp: 34 },
    ]));
  });

  it('session + process: the window is the merged session, with every element', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const fn: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
      process(key, ctx, elements, out) {
        out.collect(`${describeWindow(key, ctx.window)} ${elements.map((e) => e.ts).sort((x, y) => x - y).join(',')}`);
      },
    };
    env.fromCollection(input, outOfOrder(10)).keyBy((e) => e.key).window<TimeWindow>(EventTimeSessionWindows.withGap(5)).process(fn).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset(['a [1,15) 1,3,6,10', 'b [2,7) 2', 'a [30,35) 30']));
  });

  it('sessions whose gap windows only touch merge too (Flink TimeWindow.intersects)', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    // a@0 → [0,5); a@5 → [5,10): touching at 5 → one session [0,10)
    env
      .fromCollection([ev('a', 0, 1), ev('a', 5, 2)], outOfOrder(100))
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withGap(5))
      .reduce(sumV)
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [{ value: 3, timestamp: 9 }]);
  });

  it('session that closes before the next record of its key: two results', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    // monotonous: a@1 → [1,6); a@20 (wm 19) closes it; a@20 → [20,25)
    env
      .fromCollection([ev('a', 1, 1), ev('a', 20, 2)], monotonous())
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withGap(5))
      .reduce(sumV)
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 1, timestamp: 5 },
      { value: 2, timestamp: 24 },
    ]);
  });

  it('session + aggregate with an AggregateFunction lacking merge() is refused at pipeline build', () => {
    const env = newEnv();
    const noMerge: AggregateFunction<Ev, number, number> = {
      createAccumulator: () => 0,
      add: (e, acc) => acc + e.v,
      getResult: (acc) => acc,
    };
    const windowed = env.fromCollection(input, outOfOrder(10)).keyBy((e) => e.key).window(EventTimeSessionWindows.withGap(5));
    assert.throws(
      () => windowed.aggregate(noMerge),
      (error: Error) => error instanceof InvalidPipelineError && /merge/.test(error.message) && /session/.test(error.message),
    );
  });
});

describe('ProcessWindowFunction with incremental aggregation', () => {
  const input = [ev('a', 1, 1), ev('a', 2, 2), ev('b', 3, 5), ev('a', 12, 7)];

  it('reduce + ProcessWindowFunction: the function gets the one reduced value and the window', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const fn: ProcessWindowFunction<Ev, string, string, TimeWindow> = {
      process(key, ctx, elements, out) {
        out.collect(`${describeWindow(key, ctx.window)} n=${elements.length} sum=${elements[0]!.v}`);
      },
    };
    env.fromCollection(input, monotonous()).keyBy((e) => e.key).window<TimeWindow>(TumblingEventTimeWindows.of(10)).reduce(sumV, fn).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a [0,10) n=1 sum=3', timestamp: 9 },
      { value: 'b [0,10) n=1 sum=5', timestamp: 9 },
      { value: 'a [10,20) n=1 sum=7', timestamp: 19 },
    ]));
  });

  it('aggregate + ProcessWindowFunction: the function gets the aggregate result', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const fn: ProcessWindowFunction<string, string, string, TimeWindow> = {
      process(key, ctx, elements, out) {
        out.collect(`${describeWindow(key, ctx.window)} ${elements.join('|')}`);
      },
    };
    env.fromCollection(input, monotonous()).keyBy((e) => e.key).window<TimeWindow>(TumblingEventTimeWindows.of(10)).aggregate(sumAndCount, fn).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a [0,10) sum=3 count=2', timestamp: 9 },
      { value: 'b [0,10) sum=5 count=1', timestamp: 9 },
      { value: 'a [10,20) sum=7 count=1', timestamp: 19 },
    ]));
  });
});

describe('allowed lateness and late data', () => {
  // tumbling 10, allowed lateness 5; watermark = max ts - 1.
  // a@1, a@5 → [0,10); a@12 (wm 11) fires [0,10) = 3.
  // a@3 (v 8): late for the watermark but within lateness (9 + 5 > 11): fires [0,10) again = 11.
  // a@20 (wm 19) fires [10,20) = 4 and cleans [0,10) up (its cleanup time is 14).
  // a@4 (v 32): [0,10) is gone → late: dropped, or to the late-data side output.
  // End: [20,30) = 16.
  const input = [ev('a', 1, 1), ev('a', 5, 2), ev('a', 12, 4), ev('a', 3, 8), ev('a', 20, 16), ev('a', 4, 32)];

  it('allowedLateness: a late record within the lateness fires the window again with the updated result', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    env
      .fromCollection(input, outOfOrder(0))
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10))
      .allowedLateness(5)
      .reduce(sumV)
      .map((e) => e.v)
      .sinkTo(sink);
    const result = await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 3, timestamp: 9 },
      { value: 11, timestamp: 9 },
      { value: 4, timestamp: 19 },
      { value: 16, timestamp: 29 },
    ]);
    assert.equal(result.status.lateRecordsDropped, 1);
  });

  it('allowedLateness + process: the late firing sees every element of the window', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection(input, outOfOrder(0))
      .keyBy((e) => e.key)
      .window<TimeWindow>(TumblingEventTimeWindows.of(10))
      .allowedLateness(5)
      .process({
        process(key, ctx, elements, out) {
          out.collect(`${describeWindow(key, ctx.window)} ${elements.map((e) => e.v).join(',')}`);
        },
      } as ProcessWindowFunction<Ev, string, string, TimeWindow>)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, ['a [0,10) 1,2', 'a [0,10) 1,2,8', 'a [10,20) 4', 'a [20,30) 16']);
  });

  it('sideOutputLateData: records too late for any window go to the side output with their timestamp', async () => {
    const env = newEnv();
    const main = new CollectSink<number>('main');
    const late = new CollectSink<Ev>('late');
    const lateTag = new OutputTag<Ev>('late');
    const windowed = env
      .fromCollection(input, outOfOrder(0))
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10))
      .allowedLateness(5)
      .sideOutputLateData(lateTag)
      .reduce(sumV);
    windowed.map((e) => e.v).sinkTo(main);
    windowed.getSideOutput(lateTag).sinkTo(late);
    const result = await runEmbedded(env);
    assert.deepEqual(main.values, [3, 11, 4, 16]);
    assert.deepEqual(late.committed, [{ value: ev('a', 4, 32), timestamp: 4 }]);
    assert.equal(result.status.lateRecordsDropped, 0);
  });

  it('without allowed lateness, a record for a fired window is late (side output), the window does not fire again', async () => {
    const env = newEnv();
    const main = new CollectSink<number>('main');
    const late = new CollectSink<Ev>('late');
    const lateTag = new OutputTag<Ev>('late');
    // a@1 → [0,10); a@12 (wm 11) fires it; a@5 is late; a@10 is on time for [10,20).
    const windowed = env
      .fromCollection([ev('a', 1, 1), ev('a', 12, 2), ev('a', 5, 4), ev('a', 10, 8)], outOfOrder(0))
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10))
      .sideOutputLateData(lateTag)
      .reduce(sumV);
    windowed.map((e) => e.v).sinkTo(main);
    windowed.getSideOutput(lateTag).sinkTo(late);
    await runEmbedded(env);
    assert.deepEqual(main.committed, [
      { value: 1, timestamp: 9 },
      { value: 10, timestamp: 19 },
    ]);
    assert.deepEqual(late.values, [ev('a', 5, 4)]);
  });

  it('a record late for some sliding windows but not all is not sent to the late side output', async () => {
    const env = newEnv();
    const main = new CollectSink<string>('main');
    const late = new CollectSink<Ev>('late');
    const lateTag = new OutputTag<Ev>('late');
    // sliding(10, 5). a@16 → wm 15: [0,10) and [5,15) have fired.
    // a@12 belongs to [5,15) (late) and [10,20) (on time): counted in [10,20) only, not late.
    const windowed = env
      .fromCollection([ev('a', 7, 1), ev('a', 16, 2), ev('a', 12, 4)], outOfOrder(0))
      .keyBy((e) => e.key)
      .window<TimeWindow>(SlidingEventTimeWindows.of(10, 5))
      .sideOutputLateData(lateTag)
      .process({
        process(key, ctx, elements, out) {
          out.collect(`${describeWindow(key, ctx.window)} ${elements.map((e) => e.v).join(',')}`);
        },
      } as ProcessWindowFunction<Ev, string, string, TimeWindow>);
    windowed.sinkTo(main);
    windowed.getSideOutput(lateTag).sinkTo(late);
    await runEmbedded(env);
    assert.deepEqual(main.values, ['a [0,10) 1', 'a [5,15) 1', 'a [10,20) 2,4', 'a [15,25) 2']);
    assert.deepEqual(late.values, []);
  });
});

describe('count windows and custom triggers', () => {
  it('countWindow(3): fires every 3 records per key and purges; leftovers are not emitted', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const input = [1, 2, 10, 3, 4, 5, 20, 6, 7].map((v) => ({ key: v >= 10 ? 'b' : 'a', v }));
    env
      .fromCollection(input)
      .keyBy((e) => e.key)
      .countWindow(3)
      .reduce((x, y) => ({ key: x.key, v: x.v + y.v }))
      .map((e) => `${e.key}=${e.v}`)
      .sinkTo(sink);
    await runEmbedded(env);
    // a: 1+2+3, 4+5+6, (7 left over); b: 10, 20 left over
    assert.deepEqual(sink.values, ['a=6', 'a=15']);
  });

  it('countWindow(3) + process: each firing sees exactly the 3 records since the last', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection([1, 2, 3, 4, 5, 6, 7, 8])
      .keyBy(() => 'k')
      .countWindow(3)
      .process({
        process(key, _ctx, elements, out) {
          out.collect(`${key}:${elements.join(',')}`);
        },
      } as ProcessWindowFunction<number, string, string, GlobalWindow>)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, ['k:1,2,3', 'k:4,5,6']);
  });

  it('GlobalWindows + a punctuation trigger (FIRE_AND_PURGE on a marker record)', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    const onMarker: Trigger<{ key: string; v: number }, GlobalWindow> = {
      name: 'OnMarker',
      onElement: (e) => (e.v === 0 ? 'FIRE_AND_PURGE' : 'CONTINUE'),
      onEventTime: () => 'CONTINUE',
      onProcessingTime: () => 'CONTINUE',
      clear: () => {},
    };
    env
      .fromCollection([1, 2, 0, 5, 0, 7].map((v) => ({ key: 'a', v })))
      .keyBy((e) => e.key)
      .window<GlobalWindow>(GlobalWindows.create())
      .trigger(onMarker)
      .reduce((x, y) => ({ key: x.key, v: x.v + y.v }))
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, [3, 5]);
  });

  it('GlobalWindows + a FIRE (non-purging) trigger emits the growing contents each time', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    const onBig: Trigger<{ key: string; v: number }, GlobalWindow> = {
      name: 'OnBig',
      onElement: (e): TriggerResult => (e.v >= 10 ? 'FIRE' : 'CONTINUE'),
      onEventTime: () => 'CONTINUE',
      onProcessingTime: () => 'CONTINUE',
      clear: () => {},
    };
    env
      .fromCollection([1, 10, 2, 20, 3].map((v) => ({ key: 'a', v })))
      .keyBy((e) => e.key)
      .window<GlobalWindow>(GlobalWindows.create())
      .trigger(onBig)
      .reduce((x, y) => ({ key: x.key, v: x.v + y.v }))
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, [11, 33]);
  });

  it('GlobalWindows + a trigger with event-time timers fires when the watermark passes them', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    // Each element asks for a firing at the next multiple of 10 after its timestamp.
    const everyTen: Trigger<Ev, GlobalWindow> = {
      name: 'EveryTen',
      onElement: (_e, ts, _w, ctx) => {
        ctx.registerEventTimeTimer(Math.floor(ts / 10) * 10 + 10);
        return 'CONTINUE';
      },
      onEventTime: () => 'FIRE_AND_PURGE',
      onProcessingTime: () => 'CONTINUE',
      clear: () => {},
    };
    // a@1, a@4 → a's timer 10 (registered once). b@15 (wm 14) fires a's timer 10: 1+2.
    // (A record that moves the watermark past a timer is added before the timer fires, so the
    // watermark is moved by another key.) a@16 and b@15 → timers 20, fired at the end: 4 and 100.
    env
      .fromCollection([ev('a', 1, 1), ev('a', 4, 2), ev('b', 15, 100), ev('a', 16, 4)], monotonous())
      .keyBy((e) => e.key)
      .window<GlobalWindow>(GlobalWindows.create())
      .trigger(everyTen)
      .reduce(sumV)
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.equal(sink.values[0], 3);
    assert.deepEqual(multiset(sink.values), multiset([3, 4, 100]));
  });

  it('a CountTrigger on event-time tumbling windows replaces the watermark firing', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    // Fires (without purging) on every 2nd record of [0,10); the watermark only cleans up.
    env
      .fromCollection([ev('a', 1, 1), ev('a', 2, 2), ev('a', 3, 4), ev('a', 4, 8), ev('a', 5, 16), ev('a', 15, 32)], monotonous())
      .keyBy((e) => e.key)
      .window<TimeWindow>(TumblingEventTimeWindows.of(10))
      .trigger(CountTrigger.of<TimeWindow>(2))
      .reduce(sumV)
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 3, timestamp: 9 },
      { value: 15, timestamp: 9 },
    ]);
  });
});

// ---- processing time -------------------------------------------------------------------

/** Lets the executor loop run until it sleeps on the manual clock again. */
async function settle(clock: ManualClock): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (clock.pendingTasks > 0) return;
  }
  throw new Error('the executor did not go idle');
}

describe('processing-time windows', () => {
  it('tumbling processing-time windows fire when the clock passes their end; open windows are not emitted on stop', async () => {
    const clock = new ManualClock(1000);
    const source = new GatedSource<{ key: string; v: number }>([
      { key: 'a', v: 1 },
      { key: 'b', v: 2 },
      { key: 'a', v: 4 },
      { key: 'a', v: 8 },
      { key: 'b', v: 16 },
    ]);
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromSource(source, WatermarkStrategy.noWatermarks(), 'gated')
      .keyBy((e) => e.key)
      .window(TumblingProcessingTimeWindows.of(100))
      .reduce((x, y) => ({ key: x.key, v: x.v + y.v }))
      .map((e) => `${e.key}=${e.v}`)
      .sinkTo(sink);
    const executor = await EmbeddedExecutor.create(env, {
      jobName: 'processing-time',
      properties: {},
      clock,
      logger: new InMemoryLogger(),
      stateBackend: 'memory',
      checkpointStorage: new InMemoryCheckpointStorage(),
      deadLetters: new InMemoryDeadLetterOutput(),
    });
    const running = executor.run();
    try {
      await settle(clock);
      source.release(3); // a=1, b=2, a=4 at 1010 → [1000,1100)
      clock.advance(10);
      await settle(clock);
      clock.advanceTo(1099); // [1000,1100) fires: a=5, b=2
      await settle(clock);
      source.release(1); // a=8 at 1110 → [1100,1200)
      clock.advance(11);
      await settle(clock);
      clock.advanceTo(1199); // [1100,1200) fires: a=8
      await settle(clock);
      source.release(1); // b=16 at 1204 → [1200,1300), still open at stop
      clock.advance(5);
      await settle(clock);
    } finally {
      executor.stop();
    }
    const result = await running;
    assert.equal(result.state, 'stopped');
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a=5', timestamp: 1099 },
      { value: 'b=2', timestamp: 1099 },
      { value: 'a=8', timestamp: 1199 },
    ]));
  });
});
