// The retry delay every connector that retries uses.

/** Exponential backoff with jitter in [delay/2, delay]: base·2^attempt capped at maxMs. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const delay = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(delay / 2 + (random() * delay) / 2);
}
