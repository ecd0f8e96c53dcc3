// The CEP operator as a keyed process function, in event time as Flink's CepOperator: each
// element is buffered in keyed state under its timestamp with an event-time timer there; when
// the watermark passes, the timer feeds that timestamp's elements (in arrival order) to the NFA,
// after advancing the NFA's time to it. Timers fire in timestamp order, so the NFA sees events in
// event-time order, whatever order they arrived in. A partial match that starts also sets a timer
// where its window ends, which times it out (or completes a trailing notFollowedBy). Elements at
// or below the watermark are late: dropped, or sent to the late-data side output.
//
// Everything lives in keyed state, so checkpoints, restores and rescaling carry it on either
// backend: the element queue, the NFA state (partial matches as plain data) and the shared
// buffer's event table. Matches are stamped with the timestamp of the timer that produced them:
// their last event's, or the end of the window for a timed-out or notFollowedBy match.

import { InvalidPipelineError } from '../errors.ts';
import type { PatternProcessContext, PatternProcessFunction, TimedOutPartialMatchHandler } from '../api/cep/pattern-process-function.ts';
import { handlesTimeouts } from '../api/cep/pattern-process-function.ts';
import type { Collector, KeyedProcessContext, KeyedProcessFunction, OnTimerContext, RuntimeContext } from '../api/functions.ts';
import type { OutputTag } from '../api/output-tag.ts';
import { MapStateDescriptor, ValueStateDescriptor, type MapState, type ValueState } from '../api/state.ts';
import type { CompiledPattern } from './nfa-compiler.ts';
import { Nfa, type NfaState } from './nfa.ts';
import { SharedBuffer, type StoredEvent } from './shared-buffer.ts';

/** The keyed state names the operator uses; a PatternProcessFunction's own state must not reuse them. */
export const CEP_STATE_NAMES = {
  elementQueue: 'cep-element-queue',
  nfaState: 'cep-nfa-state',
  events: 'cep-shared-buffer-events',
} as const;

export class CepProcessFunction<K, IN, OUT> implements KeyedProcessFunction<K, IN, OUT> {
  private readonly nfa: Nfa<IN>;
  private readonly timeoutHandler: TimedOutPartialMatchHandler<IN> | undefined;
  private elementQueue!: MapState<number, IN[]>;
  private nfaState!: ValueState<NfaState>;
  private events!: MapState<number, StoredEvent<IN>>;

  constructor(
    pattern: CompiledPattern<IN>,
    private readonly fn: PatternProcessFunction<IN, OUT>,
    private readonly lateDataTag: OutputTag<IN> | undefined,
  ) {
    this.timeoutHandler = handlesTimeouts<IN>(fn) ? fn : undefined;
    this.nfa = new Nfa(pattern, this.timeoutHandler !== undefined);
  }

  open(context: RuntimeContext): void {
    this.elementQueue = context.getMapState(new MapStateDescriptor<number, IN[]>(CEP_STATE_NAMES.elementQueue));
    this.nfaState = context.getState(new ValueStateDescriptor<NfaState>(CEP_STATE_NAMES.nfaState));
    this.events = context.getMapState(new MapStateDescriptor<number, StoredEvent<IN>>(CEP_STATE_NAMES.events));
    this.fn.open?.(context);
  }

  close(): void {
    this.fn.close?.();
  }

  processElement(value: IN, ctx: KeyedProcessContext<K>): void {
    const timestamp = ctx.timestamp();
    if (timestamp === undefined) {
      throw new InvalidPipelineError('CEP runs in event time and got a record without a timestamp: give the source a WatermarkStrategy with a timestamp assigner (or assignTimestampsAndWatermarks)');
    }
    const timers = ctx.timerService();
    if (timestamp > timers.currentWatermark()) {
      const buffered = this.elementQueue.get(timestamp);
      if (buffered === undefined) timers.registerEventTimeTimer(timestamp);
      this.elementQueue.put(timestamp, buffered === undefined ? [value] : [...buffered, value]);
    } else if (this.lateDataTag !== undefined) {
      ctx.output(this.lateDataTag, value);
    }
  }

  onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void {
    let state = this.nfaState.value() ?? this.nfa.createInitialState();
    const buffer = new SharedBuffer<IN>(this.events, state);
    const processingTimeMs = () => ctx.timerService().currentProcessingTime();
    let matchTimestamp = timestamp;
    const patternContext: PatternProcessContext = {
      timestamp: () => matchTimestamp,
      currentProcessingTime: processingTimeMs,
      output: (tag, value) => ctx.output(tag, value),
    };

    // Time first reaches this timestamp: windows that ended by now close before its events count.
    const advanced = this.nfa.advanceTime(state, timestamp);
    state = advanced.state;
    for (const match of advanced.matches) this.fn.processMatch(buffer.materialize(match), patternContext, out);
    for (const { match, timestamp: timedOutAt } of advanced.timedOut) {
      matchTimestamp = timedOutAt;
      this.timeoutHandler!.processTimedOutMatch(buffer.materialize(match), patternContext);
    }
    matchTimestamp = timestamp;

    const elements = this.elementQueue.get(timestamp);
    if (elements !== undefined) {
      for (const element of elements) {
        const processed = this.nfa.process(buffer, state, element, timestamp, processingTimeMs);
        state = processed.state;
        for (const match of processed.matches) this.fn.processMatch(buffer.materialize(match), patternContext, out);
      }
      this.elementQueue.remove(timestamp);
      // Partial matches that started here time out when their window ends, even with no later event.
      const window = this.nfa.windowMs;
      if (window > 0 && state.partialMatches.some((cs) => cs.startEventId !== null && cs.startTimestamp === timestamp)) {
        ctx.timerService().registerEventTimeTimer(timestamp + window);
      }
    }

    buffer.flush(state);
    if (this.nfa.isEmpty(state)) this.nfaState.clear();
    else this.nfaState.update(state);
  }
}
