// Time values of the DataStream API: event timestamps and watermarks are epoch milliseconds.

/** A record without an event timestamp (no timestamp assigner ran). */
export const NO_TIMESTAMP = Number.NEGATIVE_INFINITY;
/** The watermark before any record: nothing is complete yet. */
export const MIN_WATERMARK = Number.NEGATIVE_INFINITY;
/** The watermark a bounded source sends when it ends: every event-time window fires. */
export const MAX_WATERMARK = Number.POSITIVE_INFINITY;

/** Parses `500ms`, `10s`, `5m`, `1h`, `2d` or a plain number of milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d)?\s*$/i.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = (match[2] ?? 'ms').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' || unit === 'sec' ? 1000 : unit === 'm' || unit === 'min' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000;
  return Math.round(amount * factor);
}

/** Flink's `Time`/`Duration` helpers, for readable window definitions. */
export const Time = {
  milliseconds: (n: number): number => n,
  seconds: (n: number): number => n * 1000,
  minutes: (n: number): number => n * 60_000,
  hours: (n: number): number => n * 3_600_000,
  days: (n: number): number => n * 86_400_000,
} as const;
