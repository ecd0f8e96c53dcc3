// Keyed process functions end to end: every kind of keyed state (isolated per key, at
// parallelism 1 and 4), event-time timers (dedup, delete, timestamps, the key in onTimer, firing
// at end of input), the rolling keyBy().reduce(), connected streams (plain and keyed), and the
// errors a misuse or a failing user function gives. Expected values are written by hand.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  WatermarkStrategy,
  type AggregatingState,
  type CoProcessFunction,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type KeyedCoProcessFunction,
  type KeyedProcessFunction,
  type ListState,
  type MapState,
  type ReducingState,
  type ValueState,
} from '../../shared/api/index.ts';
import { UserFunctionError } from '../../shared/errors.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { runEmbedded } from '../testing/embedded-harness.ts';
import { deterministicEnv as newEnv, multiset } from '../testing/pipeline-helpers.ts';

type KV = [key: string, value: number];

// KeyedStream.process takes ProcessFunction | KeyedProcessFunction, so an inline object literal
// gets no contextual parameter types; these identity helpers give them.
const keyed = <K, IN, OUT>(fn: KeyedProcessFunction<K, IN, OUT>): KeyedProcessFunction<K, IN, OUT> => fn;
const co = <A, B, OUT>(fn: CoProcessFunction<A, B, OUT>): CoProcessFunction<A, B, OUT> => fn;

/** Runs input → keyBy(key) → process(fn) → sink at `parallelism`; returns the committed values. */
async function runKeyed<V, R>(
  parallelism: number,
  input: readonly V[],
  keyOf: (v: V) => string,
  fn: KeyedProcessFunction<string, V, R> | (() => KeyedProcessFunction<string, V, R>),
): Promise<R[]> {
  const env = newEnv(parallelism);
  const sink = new CollectSink<R>();
  env.fromCollection(input).keyBy(keyOf).process(fn).sinkTo(sink);
  await runEmbedded(env);
  return sink.values;
}

// ---- state functions -------------------------------------------------------------------

function countingFunction(): KeyedProcessFunction<string, KV, string> {
  // A class keeping its state handle in a field, the usual way to write one.
  return new (class implements KeyedProcessFunction<string, KV, string> {
    private count!: ValueState<number>;
    open(ctx: RuntimeContext) {
      this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
    }
    processElement(_v: KV, ctx: KeyedProcessContext<string>, out: Collector<string>) {
      const next = this.count.value()! + 1;
      this.count.update(next);
      out.collect(`${ctx.getCurrentKey()}:${next}`);
    }
  })();
}

function listFunction(): KeyedProcessFunction<string, KV, string> {
  let list: ListState<number>;
  return {
    open(ctx) {
      list = ctx.getListState(new ListStateDescriptor<number>('seen'));
    },
    processElement([key, v], _ctx, out) {
      list.add(v);
      out.collect(`${key}:${[...list.get()].join('|')}`);
      if (v === 3) list.clear();
    },
  };
}

function mapFunction(): KeyedProcessFunction<string, [string, string], string> {
  let words: MapState<string, number>;
  return {
    open(ctx) {
      words = ctx.getMapState(new MapStateDescriptor<string, number>('words'));
    },
    processElement([key, command], _ctx, out) {
      const word = command.slice(1);
      if (command.startsWith('+')) words.put(word, (words.get(word) ?? 0) + 1);
      else if (command.startsWith('-')) words.remove(word);
      else {
        const entries = [...words.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([w, n]) => `${w}=${n}`);
        out.collect(`${key}:${words.isEmpty() ? '(empty)' : entries.join(',')}${words.contains('x') ? ' has x' : ''}`);
      }
    },
  };
}

function reducingFunction(): KeyedProcessFunction<string, KV, string> {
  let max: ReducingState<number>;
  return {
    open(ctx) {
      max = ctx.getReducingState(new ReducingStateDescriptor<number>('max', (a, b) => Math.max(a, b)));
    },
    processElement([key, v], _ctx, out) {
      max.add(v);
      out.collect(`${key}:${max.get()}`);
    },
  };
}

function aggregatingFunction(): KeyedProcessFunction<string, KV, string> {
  let avg: AggregatingState<number, number>;
  return {
    open(ctx) {
      avg = ctx.getAggregatingState(
        new AggregatingStateDescriptor<number, [number, number], number>('avg', {
          createAccumulator: () => [0, 0],
          add: (v, [sum, count]) => [sum + v, count + 1],
          getResult: ([sum, count]) => sum / count,
        }),
      );
    },
    processElement([key, v], _ctx, out) {
      avg.add(v);
      out.collect(`${key}:${avg.get()}`);
    },
  };
}

const countInput: KV[] = [['a', 1], ['b', 10], ['a', 2], ['c', 100], ['b', 20], ['a', 3]];
const countExpected = ['a:1', 'b:1', 'a:2', 'c:1', 'b:2', 'a:3'];
const listInput: KV[] = [['a', 1], ['b', 10], ['a', 2], ['c', 100], ['b', 20], ['a', 3], ['a', 4]];
const listExpected = ['a:1', 'b:10', 'a:1|2', 'c:100', 'b:10|20', 'a:1|2|3', 'a:4'];
const mapInput: Array<[string, string]> = [
  ['u1', '+x'], ['u2', '+x'], ['u1', '+y'], ['u1', '+x'], ['u2', '+z'], ['u2', '-x'], ['u1', '?'], ['u2', '?'], ['u3', '?'],
];
const mapExpected = ['u1:x=2,y=1 has x', 'u2:z=1', 'u3:(empty)'];
const reducingInput: KV[] = [['a', 5], ['b', 1], ['a', 3], ['a', 9], ['b', 4]];
const reducingExpected = ['a:5', 'b:1', 'a:5', 'a:9', 'b:4'];
const aggregatingInput: KV[] = [['a', 2], ['a', 4], ['b', 10], ['a', 6]];
const aggregatingExpected = ['a:2', 'a:3', 'b:10', 'a:4'];

describe('keyed state, parallelism 1 (exact order)', () => {
  it('ValueState with a default value counts per key', async () => {
    assert.deepEqual(await runKeyed(1, countInput, (e) => e[0], countingFunction()), countExpected);
  });
  it('ListState appends per key and clear() empties only that key', async () => {
    assert.deepEqual(await runKeyed(1, listInput, (e) => e[0], listFunction()), listExpected);
  });
  it('MapState put/get/remove/contains/isEmpty per key', async () => {
    assert.deepEqual(await runKeyed(1, mapInput, (e) => e[0], mapFunction()), mapExpected);
  });
  it('ReducingState keeps the running max per key', async () => {
    assert.deepEqual(await runKeyed(1, reducingInput, (e) => e[0], reducingFunction()), reducingExpected);
  });
  it('AggregatingState keeps the running average per key', async () => {
    assert.deepEqual(await runKeyed(1, aggregatingInput, (e) => e[0], aggregatingFunction()), aggregatingExpected);
  });
});

// Flink gives every parallel subtask its own instance of the user function (it is serialized and
// deserialized per subtask), so state handles kept in fields in open() belong to that subtask.
describe('keyed state, parallelism 4 (same multiset as parallelism 1)', () => {
  it('ValueState', async () => {
    assert.deepEqual(multiset(await runKeyed(4, countInput, (e) => e[0], countingFunction())), multiset(countExpected));
  });
  it('ListState', async () => {
    assert.deepEqual(multiset(await runKeyed(4, listInput, (e) => e[0], listFunction)), multiset(listExpected));
  });
  it('MapState', async () => {
    assert.deepEqual(multiset(await runKeyed(4, mapInput, (e) => e[0], mapFunction)), multiset(mapExpected));
  });
  it('ReducingState', async () => {
    assert.deepEqual(multiset(await runKeyed(4, reducingInput, (e) => e[0], reducingFunction)), multiset(reducingExpected));
  });
  it('AggregatingState', async () => {
    assert.deepEqual(multiset(await runKeyed(4, aggregatingInput, (e) => e[0], aggregatingFunction)), multiset(aggregatingExpected));
  });
});

describe('keyed state: emitted values are not changed by later state updates', () => {
  // Flink copies records between operators (object reuse is off by default), so a list taken from
  // ListState and emitted is a snapshot of that moment; later add() calls do not change it.
  it('a list emitted straight from ListState.get() keeps the contents it had when emitted', async () => {
    const env = newEnv();
    const sink = new CollectSink<readonly number[]>();
    let list: ListState<number>;
    env
      .fromCollection<KV>([['a', 1], ['a', 2], ['a', 3]])
      .keyBy((e) => e[0])
      .process(
        keyed<string, KV, readonly number[]>({
          open(ctx) {
            list = ctx.getListState(new ListStateDescriptor<number>('l'));
          },
          processElement([, v], _ctx, out) {
            list.add(v);
            out.collect(list.get());
          },
        }),
      )
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, [[1], [1, 2], [1, 2, 3]]);
  });
});

// ---- timers ----------------------------------------------------------------------------

interface TimerEv {
  readonly key: string;
  readonly ts: number;
  readonly register?: number;
  readonly del?: number;
}

function timerFunction(): KeyedProcessFunction<string, TimerEv, string> {
  return {
    processElement(e, ctx, _out) {
      if (e.register !== undefined) ctx.timerService().registerEventTimeTimer(e.register);
      if (e.del !== undefined) ctx.timerService().deleteEventTimeTimer(e.del);
    },
    onTimer(t, ctx, out) {
      out.collect(`${ctx.getCurrentKey()}@${t} ${ctx.timeDomain()} ts=${ctx.timestamp()}`);
    },
  };
}

const withTs = <T extends { ts: number }>() => WatermarkStrategy.forMonotonousTimestamps<T>().withTimestampAssigner((e) => e.ts);

describe('event-time timers', () => {
  it('fire once per (key, timestamp), in timestamp order as the watermark passes, stamped with the timer time', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    // Watermark = last timestamp - 1, after every record.
    const input: TimerEv[] = [
      { key: 'a', ts: 1, register: 6 },
      { key: 'a', ts: 1, register: 6 }, // the same timer again: deduplicated
      { key: 'b', ts: 3, register: 8 },
      { key: 'a', ts: 7, register: 12 }, // wm 6 → a@6
      { key: 'b', ts: 20, register: 25 }, // wm 19 → b@8, a@12
      { key: 'b', ts: 21, del: 25 }, // b@25 never fires
      { key: 'c', ts: 30, register: 35 },
      { key: 'a', ts: 31, register: 40 },
      { key: 'b', ts: 32, del: 99 }, // deleting a timer that does not exist is harmless
    ]; // end of input: wm MAX → c@35, a@40
    env.fromCollection(input, withTs<TimerEv>()).keyBy((e) => e.key).process(timerFunction()).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 'a@6 event-time ts=6', timestamp: 6 },
      { value: 'b@8 event-time ts=8', timestamp: 8 },
      { value: 'a@12 event-time ts=12', timestamp: 12 },
      { value: 'c@35 event-time ts=35', timestamp: 35 },
      { value: 'a@40 event-time ts=40', timestamp: 40 },
    ]);
  });

  it('the same timer timestamp on different keys fires once per key', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const input: TimerEv[] = [
      { key: 'a', ts: 1, register: 5 },
      { key: 'b', ts: 2, register: 5 },
      { key: 'a', ts: 3, register: 5 },
    ];
    env.fromCollection(input, withTs<TimerEv>()).keyBy((e) => e.key).process(timerFunction()).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'a@5 event-time ts=5', timestamp: 5 },
      { value: 'b@5 event-time ts=5', timestamp: 5 },
    ]));
  });

  it('without watermarks, every timer fires at the end of input (final watermark), reading its key state', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    let count: ValueState<number>;
    env
      .fromCollection<TimerEv>(
        [
          { key: 'a', ts: 5, register: 100 },
          { key: 'b', ts: 1, register: 50 },
          { key: 'a', ts: 2, register: 100 },
        ],
        WatermarkStrategy.noWatermarks<TimerEv>().withTimestampAssigner((e) => e.ts),
      )
      .keyBy((e) => e.key)
      .process(keyed<string, TimerEv, string>({
        open(ctx) {
          count = ctx.getState(new ValueStateDescriptor<number>('n'));
        },
        processElement(e, ctx, out) {
          count.update((count.value() ?? 0) + 1);
          ctx.timerService().registerEventTimeTimer(e.register!);
          out.collect(`seen ${e.key} wm=${ctx.timerService().currentWatermark()}`);
        },
        onTimer(t, ctx, out) {
          out.collect(`${ctx.getCurrentKey()}@${t} count=${count.value()}`);
        },
      }))
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.committed, [
      { value: 'seen a wm=-Infinity', timestamp: 5 },
      { value: 'seen b wm=-Infinity', timestamp: 1 },
      { value: 'seen a wm=-Infinity', timestamp: 2 },
      { value: 'b@50 count=1', timestamp: 50 },
      { value: 'a@100 count=2', timestamp: 100 },
    ]);
  });

  it('a timer registered in onTimer for a later time fires too (at the end of input at the latest)', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    env
      .fromCollection<TimerEv>([{ key: 'a', ts: 1, register: 10 }], withTs<TimerEv>())
      .keyBy((e) => e.key)
      .process(keyed<string, TimerEv, string>({
        processElement(e, ctx) {
          ctx.timerService().registerEventTimeTimer(e.register!);
        },
        onTimer(t, ctx, out) {
          out.collect(`${ctx.getCurrentKey()}@${t}`);
          if (t < 30) ctx.timerService().registerEventTimeTimer(t + 10);
        },
      }))
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, ['a@10', 'a@20', 'a@30']);
  });
});

// ---- rolling reduce --------------------------------------------------------------------

describe('keyBy().reduce() (rolling)', () => {
  const input: KV[] = [['a', 1], ['b', 2], ['a', 3], ['c', 4], ['b', 5], ['a', 10]];
  const expected: KV[] = [['a', 1], ['b', 2], ['a', 4], ['c', 4], ['b', 7], ['a', 14]];

  it('emits the running reduction of the key after every record (parallelism 1)', async () => {
    const env = newEnv(1);
    const sink = new CollectSink<KV>();
    env.fromCollection(input).keyBy((e) => e[0]).reduce((x, y) => [x[0], x[1] + y[1]]).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(sink.values, expected);
  });

  it('gives the same multiset at parallelism 4', async () => {
    const env = newEnv(4);
    const sink = new CollectSink<KV>();
    env.fromCollection(input).keyBy((e) => e[0]).reduce((x, y) => [x[0], x[1] + y[1]]).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset(expected));
  });
});

// ---- connected streams -----------------------------------------------------------------

describe('connect', () => {
  it('CoProcessFunction sees both inputs, each in its own method', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const words = env.fromCollection(['x', 'y']);
    const numbers = env.fromCollection([1, 2, 3]);
    const fn: CoProcessFunction<string, number, string> = {
      processElement1(value, _ctx, out) {
        out.collect(`1:${value}`);
      },
      processElement2(value, _ctx, out) {
        out.collect(`2:${value * 10}`);
      },
    };
    words.connect(numbers).process(fn).sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.values), multiset(['1:x', '1:y', '2:10', '2:20', '2:30']));
  });

  it('CoProcessFunction side outputs and timestamps from either input', async () => {
    const env = newEnv();
    const sink = new CollectSink<string>();
    const left = env.fromCollection<{ ts: number; s: string }>([{ ts: 4, s: 'l' }], withTs());
    const right = env.fromCollection<{ ts: number; n: number }>([{ ts: 9, n: 1 }], withTs());
    left
      .connect(right)
      .process(
        co<{ ts: number; s: string }, { ts: number; n: number }, string>({
          processElement1(v, ctx, out) {
            out.collect(`${v.s}@${ctx.timestamp()}`);
          },
          processElement2(v, ctx, out) {
            out.collect(`${v.n}@${ctx.timestamp()}`);
          },
        }),
      )
      .sinkTo(sink);
    await runEmbedded(env);
    assert.deepEqual(multiset(sink.committed), multiset([
      { value: 'l@4', timestamp: 4 },
      { value: '1@9', timestamp: 9 },
    ]));
  });

  const sharedStateCase = async (parallelism: number) => {
    const env = newEnv(parallelism);
    const sink = new CollectSink<string>();
    const orders = env.fromCollection<KV>([['a', 1], ['b', 2], ['a', 3]]);
    const payments = env.fromCollection<KV>([['a', 10], ['c', 30], ['b', 20]]);
    // A factory: each subtask gets its own closure (and its own `total` handle).
    const fn = (): KeyedCoProcessFunction<string, KV, KV, string> => {
      let total: ValueState<number>;
      return {
        open(ctx) {
          total = ctx.getState(new ValueStateDescriptor<number>('total', 0));
        },
        processElement1([key, v], ctx, out) {
          assert.equal(ctx.getCurrentKey(), key);
          total.update(total.value()! + v);
          ctx.timerService().registerEventTimeTimer(1000);
          out.collect(`1:${key}`);
        },
        processElement2([key, v], ctx, out) {
          assert.equal(ctx.getCurrentKey(), key);
          total.update(total.value()! + v);
          ctx.timerService().registerEventTimeTimer(1000);
          out.collect(`2:${key}`);
        },
        onTimer(t, ctx, out) {
          out.collect(`${ctx.getCurrentKey()} total=${total.value()} @${t}`);
        },
      };
    };
    orders.connect(payments).keyBy((o) => o[0], (p) => p[0]).process(fn).sinkTo(sink);
    await runEmbedded(env);
    return sink.values;
  };
  const sharedExpected = ['1:a', '1:b', '1:a', '2:a', '2:c', '2:b', 'a total=14 @1000', 'b total=22 @1000', 'c total=30 @1000'];

  it('KeyedCoProcessFunction: both inputs share the state of the same key (parallelism 1)', async () => {
    assert.deepEqual(multiset(await sharedStateCase(1)), multiset(sharedExpected));
  });

  it('KeyedCoProcessFunction: both inputs share the state of the same key (parallelism 3)', async () => {
    assert.deepEqual(multiset(await sharedStateCase(3)), multiset(sharedExpected));
  });

  it('connect with only one keyed input is refused at pipeline build', () => {
    const env = newEnv();
    const a = env.fromCollection([1]).keyBy((x) => x);
    const b = env.fromCollection([2]);
    assert.throws(
      () => a.connect(b).process<number>({ processElement1() {}, processElement2() {} }),
      /both inputs are keyed or neither/,
    );
  });
});

// ---- errors ----------------------------------------------------------------------------

describe('errors', () => {
  it('keyed state in a non-keyed process() fails with an error naming keyBy', async () => {
    const env = newEnv();
    env
      .fromCollection([1, 2])
      .process<number>({
        open(ctx) {
          ctx.getState(new ValueStateDescriptor<number>('forbidden'));
        },
        processElement(v, _ctx, out) {
          out.collect(v);
        },
      })
      .sinkTo(new CollectSink<number>());
    await assert.rejects(runEmbedded(env), (error: Error) => {
      assert.match(error.message, /keyBy/);
      assert.match(error.message, /forbidden/);
      return true;
    });
  });

  // Flink's ProcessFunction.Context has timerService(); on a non-keyed stream registering a timer
  // throws "Setting timers is only supported on a keyed streams."
  it('timers in a non-keyed process() fail with an error naming keyBy', async () => {
    const env = newEnv();
    env
      .fromCollection([1, 2])
      .rebalance()
      .process<number>({
        processElement(v, ctx, out) {
          (ctx as unknown as { timerService(): { registerEventTimeTimer(t: number): void } }).timerService().registerEventTimeTimer(v + 10);
          out.collect(v);
        },
      })
      .sinkTo(new CollectSink<number>());
    await assert.rejects(runEmbedded(env), /keyBy/);
  });

  it('a throwing user function in a keyed operator fails the job, naming the task and the cause', async () => {
    const env = newEnv();
    env
      .fromCollection<KV>([['a', 1], ['b', 2]])
      .keyBy((e) => e[0])
      .process(keyed<string, KV, number>({
        processElement([key, v], _ctx, out) {
          if (key === 'b') throw new Error('bad record b');
          out.collect(v);
        },
      }))
      .name('Checker')
      .sinkTo(new CollectSink<number>());
    await assert.rejects(runEmbedded(env), (error: Error) => {
      assert.ok(error instanceof UserFunctionError, `expected a UserFunctionError, got ${error.name}`);
      assert.match(error.message, /Checker/);
      assert.match(error.message, /bad record b/);
      assert.equal((error.cause as Error).message, 'bad record b');
      return true;
    });
  });

  it('a throwing onTimer fails the job, naming the task', async () => {
    const env = newEnv();
    env
      .fromCollection<KV>([['a', 1]])
      .keyBy((e) => e[0])
      .process(keyed<string, KV, number>({
        processElement(_e, ctx) {
          ctx.timerService().registerEventTimeTimer(5);
        },
        onTimer() {
          throw new Error('timer broke');
        },
      }))
      .name('TimerOp')
      .sinkTo(new CollectSink<number>());
    await assert.rejects(runEmbedded(env), (error: Error) => {
      assert.match(error.message, /TimerOp/);
      assert.match(error.message, /timer broke/);
      return true;
    });
  });

  it('a throwing map chained to its source fails the job, naming the task', async () => {
    const env = newEnv();
    env
      .fromCollection([1, 2, 3])
      .map((x) => {
        if (x === 2) throw new Error('map failed on 2');
        return x;
      })
      .name('Doubler')
      .sinkTo(new CollectSink<number>());
    await assert.rejects(runEmbedded(env), (error: Error) => {
      assert.match(error.message, /map failed on 2/);
      assert.match(error.message, /Doubler/);
      return true;
    });
  });
});
