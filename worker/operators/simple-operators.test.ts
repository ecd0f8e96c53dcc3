// Stateless operators end to end through the embedded executor: map, filter, flatMap, union,
// rebalance, process functions with side outputs, and how event timestamps travel. Expected
// values are written by hand; multisets are compared where parallelism makes order undefined.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  OutputTag,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type DataStream,
  type ProcessFunction,
} from '../../shared/api/index.ts';
import { NO_TIMESTAMP } from '../../shared/api/time.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { runEmbedded } from '../testing/embedded-harness.ts';
import { deterministicEnv as newEnv, multiset } from '../testing/pipeline-helpers.ts';

/** A canonical order for comparing multisets of any JSON-able values. */
interface Ev {
  readonly key: string;
  readonly ts: number;
  readonly v: number;
}

const byTs = <T extends { ts: number }>() => WatermarkStrategy.forMonotonousTimestamps<T>().withTimestampAssigner((e) => e.ts);

describe('map / filter / flatMap', () => {
  it('map transforms every record, in order, at parallelism 1', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    env.fromCollection([1, 2, 3, 4]).map((x) => x * 10).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, [10, 20, 30, 40]);
  });

  it('filter keeps the records the predicate accepts', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    env.fromCollection([1, 2, 3, 4, 5, 6, 7]).filter((x) => x % 3 !== 0).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, [1, 2, 4, 5, 7]);
  });

  it('flatMap emits zero, one or many records per input', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection(['a b', '', 'c', 'd e f'])
      .flatMap<string>((line, out) => {
        for (const word of line.split(' ')) if (word) out.collect(word.toUpperCase());
      })
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, ['A', 'B', 'C', 'D', 'E', 'F']);
  });

  it('map -> filter -> flatMap chained give the hand-computed result', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    env
      .fromCollection([1, 2, 3, 4, 5])
      .map((x) => x + 1) // 2 3 4 5 6
      .filter((x) => x % 2 === 0) // 2 4 6
      .flatMap<number>((x, out) => {
        out.collect(x);
        out.collect(-x);
      })
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, [2, -2, 4, -4, 6, -6]);
  });
});

describe('union', () => {
  it('union of two streams carries every record of both', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const a = env.fromCollection(['a1', 'a2']);
    const b = env.fromCollection(['b1', 'b2', 'b3']);
    a.union(b).map((x) => x.toUpperCase()).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset(['A1', 'A2', 'B1', 'B2', 'B3']));
  });

  it('union of three streams carries every record of all three', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    const a = env.fromCollection([1, 2]);
    const b = env.fromCollection([10]);
    const c = env.fromCollection([100, 200, 300]);
    a.union(b, c).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset([1, 2, 10, 100, 200, 300]));
  });

  it('union of three streams, chained union calls, at parallelism 3 after a map', async () => {
    const env = newEnv(3);
    const sink = new CollectSink<number>();
    const a = env.fromCollection([1, 2]).map((x) => x);
    const b = env.fromCollection([10]).map((x) => x);
    const c = env.fromCollection([100, 200, 300]).map((x) => x);
    a.union(b).union(c).map((x) => x + 1).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset([2, 3, 11, 101, 201, 301]));
  });

  it('a stream unioned with itself carries each record twice (as in Flink)', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    const s = env.fromCollection([1, 2, 3]);
    s.union(s).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset([1, 1, 2, 2, 3, 3]));
  });
});

describe('rebalance and parallelism', () => {
  it('rebalance to parallelism 3 keeps every record exactly once', async () => {
    const env = newEnv(3);
    const sink = new CollectSink<number>();
    const input = Array.from({ length: 20 }, (_, i) => i);
    env.fromCollection(input).rebalance().map((x) => x * 2).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset(input.map((x) => x * 2)));
  });

  it('rebalance spreads records round-robin over the 3 subtasks', async () => {
    const env = newEnv(3);
    const seenBy: number[][] = [[], [], []];
    // The subtask is read from the sink writer context, which is per subtask by construction.
    env
      .fromCollection([0, 1, 2, 3, 4, 5])
      .rebalance()
      .map((x) => x)
      .sinkTo({
        name: 'per-subtask',
        createWriter: (ctx) => ({
          write: (v: number) => void seenBy[ctx.subtaskIndex]!.push(v),
          prepareCommit: () => undefined,
          commit: async () => {},
          close: () => {},
        }),
      });
    await runEmbedded(env);
    // Each subtask receives exactly two of the six records.
    assert.deepEqual(seenBy.map((s) => s.length), [2, 2, 2]);
    assert.deepEqual(multiset(seenBy.flat()), multiset([0, 1, 2, 3, 4, 5]));
  });

  it('the same pipeline at parallelism 1 and 3 gives the same multiset', async () => {
    const run = async (parallelism: number) => {
      const env = newEnv(parallelism);
      const sink = new CollectSink<string>();
      env
        .fromCollection(['x y', 'y z', 'x', 'w x y z'])
        .rebalance()
        .flatMap<string>((line, out) => line.split(' ').forEach((w) => out.collect(w)))
        .filter((w) => w !== 'w')
        .map((w) => `${w}!`)
        .sinkTo(sink);
      await runEmbedded(env);
      return sink.values;
    };
    const expected = ['x!', 'y!', 'y!', 'z!', 'x!', 'x!', 'y!', 'z!'];
    assert.deepEqual(multiset(await run(1)), multiset(expected));
    assert.deepEqual(multiset(await run(3)), multiset(expected));
  });
});

describe('ProcessFunction and side outputs', () => {
  it('ctx.output sends to the side output, getSideOutput reads it, the main output is unaffected', async () => {
    const env = newEnv();
    const evens = new OutputTag<number>('evens');
    const big = new OutputTag<string>('big');
    const main = new CollectSink<number>('main');
    const evenSink = new CollectSink<number>('evens');
    const bigSink = new CollectSink<string>('big');
    const fn: ProcessFunction<number, number> = {
      processElement(value, ctx, out) {
        if (value % 2 === 0) ctx.output(evens, value);
        if (value > 4) ctx.output(big, `big:${value}`);
        out.collect(value * 100);
      },
    };
    const processed = env.fromCollection([1, 2, 3, 4, 5, 6]).process(fn);
    processed.sinkTo(main);
    processed.getSideOutput(evens).sinkTo(evenSink);
    processed.getSideOutput(big).sinkTo(bigSink);
    await runEmbedded(env);
    assert.deepEqual(main.values, [100, 200, 300, 400, 500, 600]);
    assert.deepEqual(evenSink.values, [2, 4, 6]);
    assert.deepEqual(bigSink.values, ['big:5', 'big:6']);
  });

  it('a side output read by an operator at another parallelism (not chained) is complete', async () => {
    const env = newEnv(1);
    const odd = new OutputTag<number>('odd');
    const oddSink = new CollectSink<number>('odd');
    const mainSink = new CollectSink<number>('main');
    const processed = env.fromCollection([1, 2, 3, 4, 5, 6, 7]).process<number>({
      processElement(value, ctx, out) {
        if (value % 2 === 1) ctx.output(odd, value);
        else out.collect(value);
      },
    });
    processed.sinkTo(mainSink);
    processed.getSideOutput(odd).map((x) => x * 10).setParallelism(3).sinkTo(oddSink);
    await runEmbedded(env);
    assert.deepEqual(mainSink.values, [2, 4, 6]);
    assert.deepEqual(multiset(oddSink.values), multiset([10, 30, 50, 70]));
  });

  it('a side output with no reader is dropped and does not reach the main output', async () => {
    const env = newEnv();
    const unused = new OutputTag<number>('unused');
    const sink = new CollectSink<number>();
    env
      .fromCollection([1, 2, 3])
      .process<number>({
        processElement(value, ctx, out) {
          ctx.output(unused, -value);
          out.collect(value);
        },
      })
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, [1, 2, 3]);
  });

  it('side outputs carry the timestamp of the record being processed', async () => {
    const env = newEnv();
    const tag = new OutputTag<string>('side');
    const side = new CollectSink<string>('side');
    const main = new CollectSink<string>('main');
    const processed = env
      .fromCollection<Ev>(
        [
          { key: 'a', ts: 5, v: 1 },
          { key: 'b', ts: 9, v: 2 },
        ],
        byTs<Ev>(),
      )
      .process<string>({
        processElement(e, ctx, out) {
          ctx.output(tag, `side-${e.key}`);
          out.collect(`main-${e.key}@${ctx.timestamp()}`);
        },
      });
    processed.sinkTo(main);
    processed.getSideOutput(tag).sinkTo(side);
    await runEmbedded(env);
    assert.deepEqual(main.committed, [
      { value: 'main-a@5', timestamp: 5 },
      { value: 'main-b@9', timestamp: 9 },
    ]);
    assert.deepEqual(side.committed, [
      { value: 'side-a', timestamp: 5 },
      { value: 'side-b', timestamp: 9 },
    ]);
  });

  it('ProcessFunction ctx.timestamp() is undefined for records without a timestamp', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection(['x'])
      .process<string>({
        processElement(value, ctx, out) {
          out.collect(`${value}:${ctx.timestamp() === undefined ? 'none' : ctx.timestamp()}`);
        },
      })
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, ['x:none']);
  });

  it('open() and close() of a ProcessFunction are called around the records', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const calls: string[] = [];
    env
      .fromCollection([1, 2])
      .process<string>({
        open(ctx) {
          calls.push(`open ${ctx.indexOfThisSubtask}/${ctx.numberOfParallelSubtasks}`);
        },
        processElement(value, _ctx, out) {
          calls.push(`element ${value}`);
          out.collect(String(value));
        },
        close() {
          calls.push('close');
        },
      })
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(calls, ['open 0/1', 'element 1', 'element 2', 'close']);
  });
});

describe('timestamps', () => {
  const events: Ev[] = [
    { key: 'a', ts: 3, v: 1 },
    { key: 'b', ts: 7, v: 2 },
    { key: 'c', ts: 11, v: 3 },
  ];

  it('map, filter and flatMap keep the event timestamp of their input record', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection(events, byTs<Ev>())
      .map((e) => ({ ...e, v: e.v * 2 }))
      .filter((e) => e.key !== 'b')
      .flatMap<string>((e, out) => {
        out.collect(`${e.key}1`);
        out.collect(`${e.key}2`);
      })
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 'a1', timestamp: 3 },
      { value: 'a2', timestamp: 3 },
      { value: 'c1', timestamp: 11 },
      { value: 'c2', timestamp: 11 },
    ]);
  });

  it('timestamps survive a rebalance exchange to parallelism 3', async () => {
    const env = newEnv(3);
    const sink = new CollectSink<string>();
    env
      .fromCollection(events, byTs<Ev>())
      .rebalance()
      .map((e) => e.key)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a', timestamp: 3 },
      { value: 'b', timestamp: 7 },
      { value: 'c', timestamp: 11 },
    ]));
  });

  it('records of a source without a timestamp assigner carry no timestamp', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    env.fromCollection([1]).map((x) => x).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [{ value: 1, timestamp: NO_TIMESTAMP }]);
  });

  it('assignTimestampsAndWatermarks downstream of a source stamps records and drives event-time windows', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    // The source has no timestamps; they are assigned after a map.
    const raw = ['a,1,1', 'a,4,2', 'b,6,5', 'a,12,10', 'b,15,20', 'a,25,100'];
    env
      .fromCollection(raw)
      .map((line): Ev => {
        const [key, ts, v] = line.split(',');
        return { key: key!, ts: Number(ts), v: Number(v) };
      })
      .assignTimestampsAndWatermarks(byTs<Ev>())
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10))
      .reduce((x, y) => ({ key: x.key, ts: Math.max(x.ts, y.ts), v: x.v + y.v }))
      .map((e) => `${e.key}=${e.v}`)
      .sinkTo(sink);
    await runEmbedded(env);
    // [0,10): a=1+2, b=5; [10,20): a=10, b=20; [20,30): a=100. Results carry window end - 1.
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a=3', timestamp: 9 },
      { value: 'b=5', timestamp: 9 },
      { value: 'a=10', timestamp: 19 },
      { value: 'b=20', timestamp: 19 },
      { value: 'a=100', timestamp: 29 },
    ]));
  });

  it('assignTimestampsAndWatermarks replaces the timestamps the source assigned', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    const withTs = env.fromCollection<Ev>(events, byTs<Ev>());
    (withTs.map((e) => e.v) as DataStream<number>)
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((v) => v * 1000))
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 1, timestamp: 1000 },
      { value: 2, timestamp: 2000 },
      { value: 3, timestamp: 3000 },
    ]);
  });

  it('the timestamp assigner of assignTimestampsAndWatermarks sees the previous timestamp', async () => {
    const env = newEnv();
    const sink = new CollectSink<number>();
    env
      .fromCollection<Ev>(events, byTs<Ev>())
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((_e, previous) => previous + 100))
      .map((e) => e.v)
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 1, timestamp: 103 },
      { value: 2, timestamp: 107 },
      { value: 3, timestamp: 111 },
    ]);
  });
});
