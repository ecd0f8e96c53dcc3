// Several gauges are fed by one sampler call: the first gauge's `collect()` in a scrape samples,
// the others reuse that sample. prom-client's Registry.metrics() starts every metric's get() in
// one synchronous pass, so "same scrape" is "same turn of the event loop": the guard resets in a
// microtask queued by the first call. A lone getSingleMetric…() call still samples on its own.

export class OncePerScrape {
  private ranThisTurn = false;

  constructor(private readonly refresh: () => void) {}

  /** Runs `refresh` unless it already ran in this turn of the event loop. */
  run(): void {
    if (this.ranThisTurn) return;
    this.ranThisTurn = true;
    queueMicrotask(() => {
      this.ranThisTurn = false;
    });
    this.refresh();
  }
}
