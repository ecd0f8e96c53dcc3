// How operators hand records on. Inside a task, an operator's Output calls the next operator
// directly (chaining: one synchronous call per record, no allocation); across tasks it appends to
// an exchange buffer that ships batches. Side outputs are routed by tag id.

export interface Output {
  collect(value: unknown, timestamp: number): void;
  /** A side output; dropped if no stream reads `tagId`. */
  collectSide(tagId: string, value: unknown, timestamp: number): void;
  emitWatermark(watermark: number): void;
  /** The upstream went idle (true) or became active again (false). */
  emitIdle(idle: boolean): void;
}

/** What an operator in a chain receives; the task's head operator gets it from input channels. */
export interface OperatorInput {
  processElement(value: unknown, timestamp: number): void;
  processWatermark(watermark: number): void;
  processIdle?(idle: boolean): void;
}

export class DiscardingOutput implements Output {
  collect(): void {}
  collectSide(): void {}
  emitWatermark(): void {}
  emitIdle(): void {}
}

/** Sends everything to every output (an operator with several consumers). */
export class BroadcastingOutput implements Output {
  constructor(private readonly outputs: readonly Output[]) {}
  collect(value: unknown, timestamp: number): void {
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i]!.collect(value, timestamp);
  }
  collectSide(tagId: string, value: unknown, timestamp: number): void {
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i]!.collectSide(tagId, value, timestamp);
  }
  emitWatermark(watermark: number): void {
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i]!.emitWatermark(watermark);
  }
  emitIdle(idle: boolean): void {
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i]!.emitIdle(idle);
  }
}

/** Main output into a chained operator. */
export class ChainingOutput implements Output {
  constructor(private readonly next: OperatorInput) {}
  collect(value: unknown, timestamp: number): void {
    this.next.processElement(value, timestamp);
  }
  collectSide(): void {}
  emitWatermark(watermark: number): void {
    this.next.processWatermark(watermark);
  }
  emitIdle(idle: boolean): void {
    this.next.processIdle?.(idle);
  }
}

/** A side output's records, turned into main records of the output that reads the tag. */
export class SideOutputAdapter implements Output {
  constructor(private readonly tagId: string, private readonly target: Output) {}
  collect(): void {}
  collectSide(tagId: string, value: unknown, timestamp: number): void {
    if (tagId === this.tagId) this.target.collect(value, timestamp);
  }
  emitWatermark(watermark: number): void {
    this.target.emitWatermark(watermark);
  }
  emitIdle(idle: boolean): void {
    this.target.emitIdle(idle);
  }
}

/** Main records only (watermarks too); side records are not for this target. */
export class MainOnlyOutput implements Output {
  constructor(private readonly target: Output) {}
  collect(value: unknown, timestamp: number): void {
    this.target.collect(value, timestamp);
  }
  collectSide(): void {}
  emitWatermark(watermark: number): void {
    this.target.emitWatermark(watermark);
  }
  emitIdle(idle: boolean): void {
    this.target.emitIdle(idle);
  }
}
