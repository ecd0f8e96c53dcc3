// What receives CEP matches: Flink's PatternProcessFunction, optionally also a
// TimedOutPartialMatchHandler for partial matches whose `within` window closed. A match maps each
// stage name to the events it took, in the order of the stages' first events (Flink's
// Map<String, List<IN>>).

import type { Collector, RuntimeContext } from '../functions.ts';
import type { OutputTag } from '../output-tag.ts';

export interface PatternProcessContext {
  /** The event time of the match: its last event's timestamp, or when a partial match timed out. */
  timestamp(): number;
  currentProcessingTime(): number;
  output<X>(tag: OutputTag<X>, value: X): void;
}

export interface PatternProcessFunction<IN, OUT> {
  open?(context: RuntimeContext): void;
  close?(): void;
  processMatch(match: Map<string, IN[]>, ctx: PatternProcessContext, out: Collector<OUT>): void;
}

/**
 * Implemented by a PatternProcessFunction that wants the partial matches that timed out; usually
 * it writes them to a side output (`ctx.output(tag, …)`). Without it they are dropped.
 */
export interface TimedOutPartialMatchHandler<IN> {
  processTimedOutMatch(match: Map<string, IN[]>, ctx: PatternProcessContext): void;
}

/** Flink's PatternSelectFunction: one result per match. */
export type PatternSelectFunction<IN, OUT> = (match: Map<string, IN[]>) => OUT;
/** Flink's PatternFlatSelectFunction: any number of results per match. */
export type PatternFlatSelectFunction<IN, OUT> = (match: Map<string, IN[]>, out: Collector<OUT>) => void;
/** Flink's PatternTimeoutFunction: one result per timed-out partial match. */
export type PatternTimeoutFunction<IN, OUT> = (match: Map<string, IN[]>, timeoutTimestamp: number) => OUT;
/** Flink's PatternFlatTimeoutFunction. */
export type PatternFlatTimeoutFunction<IN, OUT> = (match: Map<string, IN[]>, timeoutTimestamp: number, out: Collector<OUT>) => void;

export function handlesTimeouts<IN>(fn: object): fn is TimedOutPartialMatchHandler<IN> {
  return typeof (fn as Partial<TimedOutPartialMatchHandler<IN>>).processTimedOutMatch === 'function';
}
