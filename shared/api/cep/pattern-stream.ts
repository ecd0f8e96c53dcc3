// Flink's CEP entry point: `CEP.pattern(keyedStream, pattern)` gives a PatternStream, and
// `process(fn)` (or `select`/`flatSelect`) runs the pattern per key and hands each match to fn.
// It runs as a keyed process function (the CEP operator, named "CepOperator"), so its state is
// keyed state like any other: checkpointed, restored and rescaled with the job.
//
// A stream that is not keyed is matched as one sequence: every record goes to one key, on one
// subtask (as Flink runs non-keyed CEP with parallelism 1). CEP runs in event time; records need
// timestamps, and a match is emitted once the watermark passes its last event.

import { compilePattern } from '../../cep/nfa-compiler.ts';
import { CepProcessFunction } from '../../cep/cep-process-function.ts';
import { InvalidPipelineError } from '../../errors.ts';
import { DataStream, KeyedStream, type SingleOutputStreamOperator } from '../data-stream.ts';
import type { Collector, FunctionOrFactory } from '../functions.ts';
import { OutputTag } from '../output-tag.ts';
import { Pattern } from './pattern.ts';
import type {
  PatternFlatSelectFunction,
  PatternFlatTimeoutFunction,
  PatternProcessContext,
  PatternProcessFunction,
  PatternSelectFunction,
  PatternTimeoutFunction,
  TimedOutPartialMatchHandler,
} from './pattern-process-function.ts';

export const CEP = {
  /** The matches of `pattern` in `input`, per key if `input` is keyed, over the whole stream otherwise. */
  pattern<T>(input: DataStream<T>, pattern: Pattern<T>): PatternStream<T> {
    if (!(input instanceof DataStream)) throw new InvalidPipelineError('CEP.pattern takes a DataStream (usually keyed) and a Pattern');
    if (!(pattern instanceof Pattern)) throw new InvalidPipelineError('CEP.pattern takes a Pattern built with Pattern.begin(name)…');
    return new PatternStream<T>(input, pattern, undefined);
  },
} as const;

export class PatternStream<T> {
  constructor(
    private readonly input: DataStream<T>,
    private readonly pattern: Pattern<T>,
    private readonly lateDataTag: OutputTag<T> | undefined,
  ) {}

  /** Records that arrive behind the watermark go to `tag` instead of being dropped. */
  sideOutputLateData(tag: OutputTag<T>): PatternStream<T> {
    if (!(tag instanceof OutputTag)) throw new InvalidPipelineError('sideOutputLateData needs an OutputTag');
    return new PatternStream<T>(this.input, this.pattern, tag);
  }

  /** CEP runs in event time; this says so, as in Flink. */
  inEventTime(): PatternStream<T> {
    return this;
  }

  /** Not supported: Sluice's CEP runs in event time only. */
  inProcessingTime(): never {
    throw new InvalidPipelineError('CEP in processing time is not supported: assign timestamps and watermarks (CEP runs in event time)');
  }

  /**
   * Runs the pattern and calls `fn` for each match; if fn also implements
   * TimedOutPartialMatchHandler, it gets the partial matches that timed out. A factory
   * (`() => fn`) gives each subtask its own instance, for state kept on the function.
   */
  process<R>(fn: FunctionOrFactory<PatternProcessFunction<T, R>>): SingleOutputStreamOperator<R> {
    const compiled = compilePattern(this.pattern);
    const lateDataTag = this.lateDataTag;
    const keyed = this.input instanceof KeyedStream ? (this.input as KeyedStream<T, unknown>) : this.input.keyBy<number>(() => 0);
    const instance = () => new CepProcessFunction<unknown, T, R>(compiled, typeof fn === 'function' ? fn() : fn, lateDataTag);
    const operator = keyed.process<R>(instance).name('CepOperator');
    return this.input instanceof KeyedStream ? operator : operator.setParallelism(1);
  }

  /** One result per match (Flink's PatternSelectFunction). */
  select<R>(selectFn: PatternSelectFunction<T, R>): SingleOutputStreamOperator<R>;
  /** One result per match, and one per timed-out partial match to `timeoutTag`. */
  select<L, R>(timeoutTag: OutputTag<L>, timeoutFn: PatternTimeoutFunction<T, L>, selectFn: PatternSelectFunction<T, R>): SingleOutputStreamOperator<R>;
  select<L, R>(
    first: PatternSelectFunction<T, R> | OutputTag<L>,
    timeoutFn?: PatternTimeoutFunction<T, L>,
    selectFn?: PatternSelectFunction<T, R>,
  ): SingleOutputStreamOperator<R> {
    if (first instanceof OutputTag) {
      const select = selectFn!;
      return this.process<R>(withTimeouts<T, R>((match, _ctx, out) => out.collect(select(match)), (match, ctx) => ctx.output(first, timeoutFn!(match, ctx.timestamp()))));
    }
    return this.process<R>({ processMatch: (match, _ctx, out) => out.collect(first(match)) });
  }

  /** Any number of results per match (Flink's PatternFlatSelectFunction). */
  flatSelect<R>(flatSelectFn: PatternFlatSelectFunction<T, R>): SingleOutputStreamOperator<R>;
  flatSelect<L, R>(timeoutTag: OutputTag<L>, timeoutFn: PatternFlatTimeoutFunction<T, L>, flatSelectFn: PatternFlatSelectFunction<T, R>): SingleOutputStreamOperator<R>;
  flatSelect<L, R>(
    first: PatternFlatSelectFunction<T, R> | OutputTag<L>,
    timeoutFn?: PatternFlatTimeoutFunction<T, L>,
    flatSelectFn?: PatternFlatSelectFunction<T, R>,
  ): SingleOutputStreamOperator<R> {
    if (first instanceof OutputTag) {
      const select = flatSelectFn!;
      return this.process<R>(
        withTimeouts<T, R>(
          (match, _ctx, out) => select(match, out),
          (match, ctx) => timeoutFn!(match, ctx.timestamp(), { collect: (value: L) => ctx.output(first, value) }),
        ),
      );
    }
    return this.process<R>({ processMatch: (match, _ctx, out) => first(match, out) });
  }
}

function withTimeouts<T, R>(
  processMatch: (match: Map<string, T[]>, ctx: PatternProcessContext, out: Collector<R>) => void,
  processTimedOutMatch: (match: Map<string, T[]>, ctx: PatternProcessContext) => void,
): PatternProcessFunction<T, R> & TimedOutPartialMatchHandler<T> {
  return { processMatch, processTimedOutMatch };
}
