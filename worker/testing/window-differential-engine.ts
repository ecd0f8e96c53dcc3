// Runs one differential case through the real engine (embedded executor, the real window
// operator, exchanges, state backend and sinks) and renders what came out in the canonical
// lines of window-differential-reference.ts, so the two can be compared as multisets.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Collector, ProcessWindowFunction, WindowContext } from '../../shared/api/functions.ts';
import { StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import { OutputTag } from '../../shared/api/output-tag.ts';
import type { AggregateFunction } from '../../shared/api/state.ts';
import type { Cancellable, Clock } from '../../shared/clock.ts';
import { WatermarkStrategy } from '../../shared/api/watermark-strategy.ts';
import {
  EventTimeSessionWindows,
  GlobalWindow,
  SlidingEventTimeWindows,
  TimeWindow,
  TumblingEventTimeWindows,
  type Window,
  type WindowAssigner,
} from '../../shared/api/windows.ts';
import type { DataStream } from '../../shared/api/data-stream.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { JsonLinesFileSource } from '../connectors/files/json-lines-file-source.ts';
import { runEmbedded } from './embedded-harness.ts';
import { ScriptedBoundedSource } from './scripted-bounded-source.ts';
import type { DiffCase, DiffEvent, EventKey } from './window-differential-cases.ts';
import { keyText, lateText, summaryText, windowText, type Summary } from './window-differential-reference.ts';

export interface EngineOutput {
  readonly main: string[];
  readonly late: string[];
  readonly lateRecordsDropped: number;
  readonly recordsRead: number;
}

interface SummaryAccumulator {
  k: EventKey | undefined;
  c: number;
  s: number;
  q: number;
  lo: number;
  hi: number;
}

/** A pure reduce: a new summary event, the inputs untouched. */
export function reduceSummaries(a: DiffEvent, b: DiffEvent): DiffEvent {
  return {
    k: a.k,
    t: Math.max(a.t, b.t),
    id: Math.min(a.id, b.id),
    c: a.c + b.c,
    s: a.s + b.s,
    q: a.q + b.q,
    lo: Math.min(a.lo, b.lo),
    hi: Math.max(a.hi, b.hi),
  };
}

/** An accumulator of a user class, as Flink users write them (a POJO); it stays one when copied. */
export class SummaryAccumulatorObject implements SummaryAccumulator {
  k: EventKey | undefined = undefined;
  c = 0;
  s = 0;
  q = 0;
  lo = Number.POSITIVE_INFINITY;
  hi = Number.NEGATIVE_INFINITY;
  /** Set on a stand-in when getResult was handed something that is no longer an instance of this class. */
  anomaly?: string;
}

/**
 * An AggregateFunction written as users write them: `add` mutates and returns the accumulator.
 * `getResult` returns a copy; or, with `resultIsAccumulator`, the accumulator is an instance of a
 * class and getResult hands it out as is, as is common.
 */
export function summaryAggregate(resultIsAccumulator = false): AggregateFunction<DiffEvent, SummaryAccumulator, SummaryAccumulator> {
  return {
    createAccumulator: () =>
      resultIsAccumulator ? new SummaryAccumulatorObject() : { k: undefined, c: 0, s: 0, q: 0, lo: Number.POSITIVE_INFINITY, hi: Number.NEGATIVE_INFINITY },
    add(value, acc) {
      if (acc.k !== undefined && keyText(acc.k) !== keyText(value.k)) acc.k = `MIXED(${keyText(acc.k)},${keyText(value.k)})`;
      else acc.k = value.k;
      acc.c += 1;
      acc.s += value.id;
      acc.q += value.id * value.id;
      acc.lo = Math.min(acc.lo, value.t);
      acc.hi = Math.max(acc.hi, value.t);
      return acc;
    },
    getResult(acc) {
      if (!resultIsAccumulator) return { ...acc };
      if (acc instanceof SummaryAccumulatorObject) return acc;
      return Object.assign(new SummaryAccumulatorObject(), acc, { anomaly: 'getResult got an accumulator that is no longer a SummaryAccumulatorObject' });
    },
    merge(a, b) {
      const merged = resultIsAccumulator ? new SummaryAccumulatorObject() : ({} as SummaryAccumulator);
      return Object.assign(merged, {
        k: a.k ?? b.k,
        c: a.c + b.c,
        s: a.s + b.s,
        q: a.q + b.q,
        lo: Math.min(a.lo, b.lo),
        hi: Math.max(a.hi, b.hi),
      });
    },
  };
}

function contextWindowText(window: Window): string {
  if (window instanceof TimeWindow) return windowText({ start: window.start, end: window.end });
  if (window instanceof GlobalWindow) return windowText('global');
  return `?${String(window)}`;
}

/** Wraps one pre-aggregated value (reduce/aggregate + window function) into a line with the window. */
function summaryWindowFunction(prefix: 'RW' | 'AW'): ProcessWindowFunction<Summary & { k?: unknown }, string, EventKey, Window> {
  return {
    process(key: EventKey, context: WindowContext<Window>, elements: readonly (Summary & { k?: unknown })[], out: Collector<string>) {
      const anomalies: string[] = [];
      if (elements.length !== 1) anomalies.push(` !elements=${elements.length}`);
      const value = elements[0]!;
      if (keyText(value.k) !== keyText(key)) anomalies.push(` !valueKey=${keyText(value.k)}`);
      out.collect(`${prefix} k=${keyText(key)} w=${contextWindowText(context.window)} ${summaryText(value)}${anomalies.join('')}`);
    },
  };
}

function listWindowFunction(): ProcessWindowFunction<DiffEvent, string, EventKey, Window> {
  return {
    process(key: EventKey, context: WindowContext<Window>, elements: readonly DiffEvent[], out: Collector<string>) {
      const foreign = elements.filter((e) => keyText(e.k) !== keyText(key)).map((e) => e.id);
      const ids = elements.map((e) => e.id).sort((a, b) => a - b);
      out.collect(`P k=${keyText(key)} w=${contextWindowText(context.window)} ids=${ids.join(',')}${foreign.length > 0 ? ` !foreign=${foreign.join(',')}` : ''}`);
    },
  };
}

interface EmittedElements {
  readonly key: EventKey;
  readonly window: Window;
  readonly elements: readonly DiffEvent[];
}

/** Emits the element list it is given, as is; the line is rendered when the job has ended. */
function emittingWindowFunction(): ProcessWindowFunction<DiffEvent, EmittedElements, EventKey, Window> {
  return {
    process(key: EventKey, context: WindowContext<Window>, elements: readonly DiffEvent[], out: Collector<EmittedElements>) {
      out.collect({ key, window: context.window, elements });
    },
  };
}

function assignerOf(c: DiffCase): WindowAssigner | undefined {
  const spec = c.spec;
  switch (spec.kind) {
    case 'tumbling':
      return TumblingEventTimeWindows.of(spec.sizeMs, spec.offsetMs);
    case 'sliding':
      return SlidingEventTimeWindows.of(spec.sizeMs, spec.slideMs, spec.offsetMs);
    case 'session':
      return EventTimeSessionWindows.withGap(spec.gapMs);
    case 'count':
      return undefined;
  }
}

function renderMain(fn: DiffCase['fn'], value: unknown, timestamp: number): string {
  switch (fn) {
    case 'reduce': {
      const v = value as DiffEvent;
      return `R k=${keyText(v.k)} ${summaryText(v)} @${timestamp}`;
    }
    case 'aggregate': {
      const v = value as SummaryAccumulator;
      return `A k=${keyText(v.k)} ${summaryText(v)} @${timestamp}`;
    }
    case 'aggregate-acc-result': {
      const v = value as SummaryAccumulatorObject;
      const anomaly = !(v instanceof SummaryAccumulatorObject) ? ' !emitted value is no longer a SummaryAccumulatorObject' : v.anomaly ? ` !${v.anomaly}` : '';
      return `A k=${keyText(v.k)} ${summaryText(v)}${anomaly} @${timestamp}`;
    }
    case 'process-emit-elements': {
      const v = value as EmittedElements;
      const foreign = v.elements.filter((e) => keyText(e.k) !== keyText(v.key)).map((e) => e.id);
      const ids = v.elements.map((e) => e.id).sort((a, b) => a - b);
      return `P k=${keyText(v.key)} w=${contextWindowText(v.window)} ids=${ids.join(',')}${foreign.length > 0 ? ` !foreign=${foreign.join(',')}` : ''} @${timestamp}`;
    }
    default:
      return `${String(value)} @${timestamp}`;
  }
}

/**
 * Processing time that moves one watermark interval on every time it is read, so each round of
 * the embedded executor (a poll of each source) emits the sources' periodic watermarks: a
 * deterministic stand-in for a machine on which a poll takes an interval.
 */
class SteppingClock implements Clock {
  private nowMs = 0;
  constructor(private readonly stepMs: number) {}

  now(): number {
    this.nowMs += this.stepMs;
    return this.nowMs;
  }

  schedule(delayMs: number, callback: () => void): Cancellable {
    const dueMs = this.nowMs + Math.max(0, delayMs);
    const handle = setImmediate(() => {
      this.nowMs = Math.max(this.nowMs, dueMs);
      callback();
    });
    return { cancel: () => clearImmediate(handle) };
  }
}

/** Builds the pipeline of case `c`, runs it to the end and renders both outputs. Shares nothing between runs. */
export async function runEngineCase(c: DiffCase): Promise<EngineOutput> {
  // Fresh record objects per run: nothing the engine might keep or touch carries over.
  const events = c.events.map((e) => ({ ...e }));
  const env = new StreamExecutionEnvironment();
  const defaultIntervalMs = env.settings.autoWatermarkIntervalMs;
  if (c.watermarkInterval === undefined) env.setAutoWatermarkInterval(0);
  const mainSink = new CollectSink<unknown>('main');
  const lateSink = new CollectSink<DiffEvent>('late');
  const lateTag = new OutputTag<DiffEvent>('late-events');
  const workDirectory = c.backend === 'leveldb' || c.source === 'one-file' ? await mkdtemp(join(tmpdir(), 'sluice-window-diff-')) : undefined;

  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<DiffEvent>(c.outOfOrdernessMs).withTimestampAssigner((e) => e.t);
  let source;
  if (c.source === 'one-file') {
    // One split for the job's parallelism: every source subtask but the first has none.
    const file = join(workDirectory!, 'events.jsonl');
    await writeFile(file, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    source = env.fromSource(new JsonLinesFileSource<DiffEvent>({ paths: [file] }), strategy, 'events');
  } else {
    source = env.fromSource(new ScriptedBoundedSource(events, c.recordsPerPoll), strategy, 'events').setParallelism(1);
  }
  const keyed = source.keyBy((e) => e.k);

  const assigner = assignerOf(c);
  const windowed = assigner ? keyed.window<Window>(assigner) : keyed.countWindow((c.spec as { size: number }).size);
  if (assigner && c.allowedLatenessMs > 0) windowed.allowedLateness(c.allowedLatenessMs);
  if (c.sideOutput) windowed.sideOutputLateData(lateTag);

  let result;
  switch (c.fn) {
    case 'reduce':
      result = windowed.reduce(reduceSummaries);
      break;
    case 'reduce+window':
      result = windowed.reduce<string>(reduceSummaries, summaryWindowFunction('RW') as ProcessWindowFunction<DiffEvent, string, EventKey, Window>);
      break;
    case 'aggregate':
      result = windowed.aggregate(summaryAggregate());
      break;
    case 'aggregate+window':
      result = windowed.aggregate<SummaryAccumulator, SummaryAccumulator, string>(
        summaryAggregate(),
        summaryWindowFunction('AW') as ProcessWindowFunction<SummaryAccumulator, string, EventKey, Window>,
      );
      break;
    case 'process':
      result = windowed.process<string>(listWindowFunction());
      break;
    case 'aggregate-acc-result':
      result = windowed.aggregate(summaryAggregate(true));
      break;
    case 'process-emit-elements':
      result = windowed.process<EmittedElements>(emittingWindowFunction());
      break;
  }
  (result as DataStream<unknown>).sinkTo(mainSink);
  if (c.sideOutput) result.getSideOutput(lateTag).sinkTo(lateSink);

  try {
    const run = await runEmbedded(env, {
      parallelism: c.parallelism,
      exchangeBatchSize: c.exchangeBatchSize,
      stateBackend: c.backend,
      ...(c.backend === 'leveldb' ? { stateDirectory: workDirectory! } : {}),
      ...(c.watermarkInterval === 'default' ? { clock: new SteppingClock(defaultIntervalMs), sourceBatchSize: c.recordsPerPoll } : {}),
    });
    return {
      main: mainSink.committed.map((r) => renderMain(c.fn, r.value, r.timestamp)),
      late: lateSink.committed.map((r) => lateText(r.value, r.timestamp)),
      lateRecordsDropped: run.status.lateRecordsDropped,
      recordsRead: run.status.recordsRead,
    };
  } finally {
    if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
  }
}
