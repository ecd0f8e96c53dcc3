// Per-second rates of cumulative counters over a sliding window of samples, as Flink's MeterView
// turns a Counter into a Meter: rate = (newest − oldest) / time between them. The window keeps
// the newest sample at or before its start, so once it has filled the span is at least
// `windowMs` (plus at most one sampling interval).

export interface CounterPoint {
  readonly atMs: number;
  /** Cumulative counter values, in a fixed order. */
  readonly values: readonly number[];
}

export class CounterRateWindow {
  private readonly points: CounterPoint[] = [];

  constructor(private readonly windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
  }

  add(point: CounterPoint): void {
    const newest = this.points.at(-1);
    if (newest && (point.atMs < newest.atMs || newest.values.some((value, i) => point.values[i]! < value))) {
      // A counter (or the clock) went backwards: the old points say nothing about the new ones.
      this.points.length = 0;
    } else if (newest && point.atMs === newest.atMs) {
      // Two samples at one instant (a scrape right after a timer sample): keep the later values.
      this.points.pop();
    }
    this.points.push(point);
    const windowStartMs = point.atMs - this.windowMs;
    while (this.points.length > 2 && this.points[1]!.atMs <= windowStartMs) this.points.shift();
  }

  /** Per-second rate of each counter, or undefined until two samples some time apart exist. */
  ratesPerSecond(): number[] | undefined {
    const oldest = this.points[0];
    const newest = this.points.at(-1);
    if (!oldest || !newest || newest.atMs <= oldest.atMs) return undefined;
    const seconds = (newest.atMs - oldest.atMs) / 1000;
    return newest.values.map((value, i) => (value - oldest.values[i]!) / seconds);
  }

  /** Milliseconds between the oldest and the newest sample. */
  get spanMs(): number {
    return this.points.length < 2 ? 0 : this.points.at(-1)!.atMs - this.points[0]!.atMs;
  }
}
