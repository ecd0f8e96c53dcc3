// Runs one differential case through the real engine (embedded executor, the real window
// operator, exchanges, state backend and sinks) and renders what came out in the canonical
// lines of window-differential-reference.ts, so the two can be compared as multisets. A restore
// case runs three times into the same sink: up to a stop with a checkpoint, then restored from it
// until an injected failure (output never committed), then restored from it again to the end.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Collector, ProcessWindowFunction, WindowContext } from '../../shared/api/functions.ts';
import { StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import { OutputTag } from '../../shared/api/output-tag.ts';
import type { AggregateFunction } from '../../shared/api/state.ts';
import { ManualClock, SystemClock, type Cancellable, type Clock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { InMemoryDeadLetterOutput } from '../runtime/dead-letter.ts';
import { EmbeddedExecutor, type JobResult, type RestoreSource } from '../runtime/embedded-executor.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { WatermarkStrategy } from '../../shared/api/watermark-strategy.ts';
import {
  CountTrigger,
  EventTimeSessionWindows,
  GlobalWindow,
  ProcessingTimeSessionWindows,
  PurgingTrigger,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TimeWindow,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  type Trigger,
  type Window,
  type WindowAssigner,
} from '../../shared/api/windows.ts';
import { ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger, DeltaTrigger } from '../../shared/api/window-triggers.ts';
import { CountEvictor, DeltaEvictor, TimeEvictor, type Evictor } from '../../shared/api/window-evictors.ts';
import type { DataStream, WindowedStream } from '../../shared/api/data-stream.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { JsonLinesFileSource } from '../connectors/files/json-lines-file-source.ts';
import { DifferentialSource, type DifferentialSourceOptions } from './window-differential-source.ts';
import {
  FINAL_PROCESSING_TIME_JUMP_MS,
  processingTimesOf,
  sessionGapOf,
  timestampDelta,
  type DiffCase,
  type DiffEvent,
  type EventKey,
  type EvictorSpec,
  type TriggerSpec,
} from './window-differential-cases.ts';
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
  const processing = spec.kind !== 'count' && spec.time === 'processing';
  switch (spec.kind) {
    case 'tumbling':
      return processing ? TumblingProcessingTimeWindows.of(spec.sizeMs, spec.offsetMs) : TumblingEventTimeWindows.of(spec.sizeMs, spec.offsetMs);
    case 'sliding':
      return processing ? SlidingProcessingTimeWindows.of(spec.sizeMs, spec.slideMs, spec.offsetMs) : SlidingEventTimeWindows.of(spec.sizeMs, spec.slideMs, spec.offsetMs);
    case 'session': {
      if (spec.dynamicGap === undefined) return processing ? ProcessingTimeSessionWindows.withGap(spec.gapMs) : EventTimeSessionWindows.withGap(spec.gapMs);
      const gapOf = (e: DiffEvent) => sessionGapOf(spec, e);
      return processing ? ProcessingTimeSessionWindows.withDynamicGap(gapOf) : EventTimeSessionWindows.withDynamicGap(gapOf);
    }
    case 'count':
      return undefined;
  }
}

function triggerOf(spec: TriggerSpec): Trigger<DiffEvent, Window> {
  const inner = (): Trigger<any, Window> => {
    switch (spec.kind) {
      case 'continuous-event-time':
        return ContinuousEventTimeTrigger.of(spec.intervalMs);
      case 'continuous-processing-time':
        return ContinuousProcessingTimeTrigger.of(spec.intervalMs);
      case 'count':
        return CountTrigger.of(spec.count);
      case 'delta':
        return DeltaTrigger.of<DiffEvent>(spec.threshold, timestampDelta);
    }
  };
  return spec.purging ? PurgingTrigger.of(inner()) : inner();
}

function evictorOf(spec: EvictorSpec): Evictor<DiffEvent, Window> {
  switch (spec.kind) {
    case 'count':
      return CountEvictor.of(spec.maxCount, spec.after);
    case 'time':
      return TimeEvictor.of(spec.windowMs, spec.after);
    case 'delta':
      return DeltaEvictor.of<DiffEvent>(spec.threshold, timestampDelta, spec.after);
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
  const mainSink = new CollectSink<unknown>('main');
  const lateSink = new CollectSink<DiffEvent>('late');
  const workDirectory = c.backend === 'leveldb' || c.source === 'one-file' ? await mkdtemp(join(tmpdir(), 'sluice-window-diff-')) : undefined;
  const processing = c.spec.kind !== 'count' && c.spec.time === 'processing';
  const arrivals = processing ? processingTimesOf(events) : [];
  /** A fresh clock for an attempt that starts reading at record `from`: processing time as the source drives it. */
  const processingTime = (from: number) => {
    if (!processing || events.length === 0) return undefined;
    const clock = new ManualClock(arrivals[Math.min(from, events.length - 1)]!);
    return { clock, arrivals, finalMs: arrivals[arrivals.length - 1]! + FINAL_PROCESSING_TIME_JUMP_MS };
  };

  const storage = new InMemoryCheckpointStorage();
  try {
    /** One run of the job, restored from `restore` if given; a source that pauses stops it with a checkpoint. */
    const run = async (source: Pick<DifferentialSourceOptions, 'pauseAt' | 'failAt'>, from: number, restore?: RestoreSource): Promise<JobResult> => {
      const time = processingTime(from);
      let executor: EmbeddedExecutor | undefined;
      const sourceOptions = { recordsPerPoll: c.recordsPerPoll, ...source, onPause: () => executor?.stop(), ...(time ? { processingTime: time } : {}) };
      const env = await buildJob(c, events, mainSink, lateSink, workDirectory, sourceOptions);
      const steppingClock = c.watermarkInterval === 'default' ? new SteppingClock(env.settings.autoWatermarkIntervalMs) : undefined;
      executor = await EmbeddedExecutor.create(env, {
        jobName: 'window-differential',
        properties: {},
        clock: steppingClock ?? time?.clock ?? SystemClock.INSTANCE,
        logger: new InMemoryLogger(),
        deadLetters: new InMemoryDeadLetterOutput(),
        stateBackend: c.backend,
        ...(c.backend === 'leveldb' ? { stateDirectory: workDirectory! } : {}),
        parallelism: c.parallelism,
        exchangeBatchSize: c.exchangeBatchSize,
        ...(steppingClock ? { sourceBatchSize: c.recordsPerPoll } : {}),
        checkpointStorage: storage,
        ...(restore ? { restore } : {}),
      });
      return executor.run();
    };
    const committedRuns: JobResult[] = [];
    if (c.restoreAt === undefined) {
      committedRuns.push(await run({}, 0));
    } else {
      // 1. Up to record restoreAt, then stop with a checkpoint.
      const stopped = await run({ pauseAt: c.restoreAt }, 0);
      if (stopped.state !== 'stopped') throw new Error(`the first run should have stopped before input index ${c.restoreAt}, it ${stopped.state}`);
      committedRuns.push(stopped);
      const completed = await storage.listCompleted();
      const restore = { storage, checkpointId: completed[completed.length - 1]! };
      // 2. Restored, until an injected failure: nothing of this run is committed.
      if (c.crashAt !== undefined) {
        const failure = await run({ failAt: c.crashAt }, c.restoreAt, restore).then(
          () => new Error(`the restored run should have failed before input index ${c.crashAt}`),
          (error: Error) => (/injected failure/.test(error.message) ? undefined : error),
        );
        if (failure) throw failure;
      }
      // 3. Restored from the same checkpoint, to the end.
      committedRuns.push(await run({}, c.restoreAt, restore));
    }
    return {
      main: mainSink.committed.map((r) => renderMain(c.fn, r.value, r.timestamp)),
      late: lateSink.committed.map((r) => lateText(r.value, r.timestamp)),
      lateRecordsDropped: committedRuns.reduce((n, r) => n + r.status.lateRecordsDropped, 0),
      recordsRead: committedRuns.reduce((n, r) => n + r.status.recordsRead, 0),
    };
  } finally {
    if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
  }
}

/** The job of case `c`, from a source with `sourceOptions`, into the given sinks. */
async function buildJob(
  c: DiffCase,
  events: readonly DiffEvent[],
  mainSink: CollectSink<unknown>,
  lateSink: CollectSink<DiffEvent>,
  workDirectory: string | undefined,
  sourceOptions: DifferentialSourceOptions,
): Promise<StreamExecutionEnvironment> {
  const env = new StreamExecutionEnvironment();
  if (c.watermarkInterval === undefined) env.setAutoWatermarkInterval(0);
  const lateTag = new OutputTag<DiffEvent>('late-events');
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<DiffEvent>(c.outOfOrdernessMs).withTimestampAssigner((e) => e.t);
  let source;
  if (c.source === 'one-file') {
    // One split for the job's parallelism: every source subtask but the first has none.
    const file = join(workDirectory!, 'events.jsonl');
    await writeFile(file, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    source = env.fromSource(new JsonLinesFileSource<DiffEvent>({ paths: [file] }), strategy, 'events');
  } else {
    source = env.fromSource(new DifferentialSource(events, sourceOptions), strategy, 'events').setParallelism(1);
  }
  const keyed = source.keyBy((e) => e.k);

  const assigner = assignerOf(c);
  let windowed: WindowedStream<DiffEvent, EventKey, Window>;
  if (assigner) windowed = keyed.window<Window>(assigner);
  else {
    const count = c.spec as { size: number; slide?: number };
    windowed = keyed.countWindow(count.size, count.slide) as WindowedStream<DiffEvent, EventKey, Window>;
  }
  if (c.trigger) windowed.trigger(triggerOf(c.trigger));
  if (c.evictor) windowed.evictor(evictorOf(c.evictor));
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
  return env;
}
