// What the data-plane benchmark's two processes say to each other over the IPC channel, and the
// clock and histogram they share. Both processes read the same monotonic clock (process.hrtime
// is CLOCK_MONOTONIC, which is system-wide), so a time stamped by the producer can be compared
// with the consumer's.

export type ToConsumer = { type: 'phase'; name: string; keys: string[]; measureLatency: boolean } | { type: 'stop' };

export type FromConsumer =
  | { type: 'ready'; address: string }
  | { type: 'registered'; name: string }
  | { type: 'phaseDone'; name: string; records: number; endReceivedAtMs: number; latency?: LatencySummary };

export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Monotonic milliseconds, comparable between processes on one machine. */
export function monotonicNowMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}

/** Latencies in 10 µs buckets up to 10 s (beyond: the last bucket; the max is kept exactly). */
export class LatencyHistogram {
  private static readonly BUCKET_MS = 0.01;
  private readonly buckets = new Uint32Array(1_000_000);
  private samples = 0;
  private maxMs = 0;

  record(latencyMs: number, count: number): void {
    const bucket = Math.min(this.buckets.length - 1, Math.max(0, Math.floor(latencyMs / LatencyHistogram.BUCKET_MS)));
    this.buckets[bucket]! += count;
    this.samples += count;
    if (latencyMs > this.maxMs) this.maxMs = latencyMs;
  }

  summary(): LatencySummary {
    const quantile = (q: number) => {
      const rank = Math.ceil(q * this.samples);
      let seen = 0;
      for (let b = 0; b < this.buckets.length; b++) {
        seen += this.buckets[b]!;
        if (seen >= rank) return (b + 1) * LatencyHistogram.BUCKET_MS;
      }
      return this.maxMs;
    };
    return { samples: this.samples, p50Ms: quantile(0.5), p99Ms: quantile(0.99), maxMs: this.maxMs };
  }
}
