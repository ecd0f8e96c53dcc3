// What the window operators share: the current key and window, the collector and context their
// window functions see, how a result is emitted (through the ProcessWindowFunction if there is
// one, stamped with the window's max timestamp) and how a late record is reported.

import type { Collector, ProcessWindowFunction, WindowContext } from '../../shared/api/functions.ts';
import { NO_TIMESTAMP } from '../../shared/api/time.ts';
import type { Window } from '../../shared/api/windows.ts';
import type { StateKey } from '../state/keyed-state-backend.ts';
import { AbstractStreamOperator } from '../runtime/stream-operator.ts';
import type { WindowOperatorSpec } from './window-operator.ts';

export abstract class AbstractWindowOperator<W extends Window> extends AbstractStreamOperator {
  protected readonly allowedLatenessMs: number;
  protected readonly processFunction: ProcessWindowFunction<any, any, any, any> | undefined;
  private readonly lateTagId: string | undefined;
  protected currentKey: StateKey = 0;
  protected currentWindow: W;
  protected readonly collector: Collector<unknown> & { timestamp: number };
  protected readonly windowContext: WindowContext<W>;

  constructor(spec: WindowOperatorSpec, initialWindow: W) {
    super();
    this.allowedLatenessMs = spec.allowedLatenessMs;
    this.lateTagId = spec.lateDataTag?.id;
    this.processFunction = spec.function.process;
    this.currentWindow = initialWindow;
    const self = this;
    this.collector = {
      timestamp: NO_TIMESTAMP,
      collect(value: unknown) {
        self.output.collect(value, this.timestamp);
      },
    };
    this.windowContext = {
      get window() {
        return self.currentWindow;
      },
      currentWatermark: () => this.currentWatermark,
      currentProcessingTime: () => this.setupInfo.clock.now(),
      output: (tag, value) => this.output.collectSide(tag.id, value, this.currentWindow.maxTimestamp()),
    };
  }

  override open(): void {
    this.processFunction?.open?.(this.runtimeContext());
  }

  override close(): void {
    this.processFunction?.close?.();
  }

  /** Emits the result of the current window: through the ProcessWindowFunction if there is one. */
  protected emitResult(result: unknown): void {
    const timestamp = this.currentWindow.maxTimestamp();
    this.collector.timestamp = timestamp;
    if (this.processFunction) this.processFunction.process(this.currentKey, this.windowContext, [result], this.collector);
    else this.output.collect(result, timestamp);
  }

  /** Hands all of the current window's elements to a process window function. */
  protected emitElements(process: ProcessWindowFunction<any, any, any, any>, elements: readonly unknown[]): void {
    this.collector.timestamp = this.currentWindow.maxTimestamp();
    process.process(this.currentKey, this.windowContext, elements, this.collector);
  }

  /** A record too late for all its windows: to the late-data side output, or dropped and counted. */
  protected reportLate(value: unknown, timestamp: number): void {
    if (this.lateTagId !== undefined) this.output.collectSide(this.lateTagId, value, timestamp);
    else this.metrics.numLateRecordsDropped++;
  }
}
