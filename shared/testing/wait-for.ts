// The one wait of the tests: poll a probe until it reports a state, or fail naming that state.
// A test waits for something it can observe (a status, a counter, a log line, a position that
// reached an end offset), never for a stretch of wall-clock time it hopes is long enough.

/** What a probe answers while the state it looks for has not come: nothing, null or false. */
export type NotYet = undefined | null | false;

/**
 * Calls `probe` until it returns a value other than undefined, null or false, and returns that
 * value. A probe that throws counts as "not yet"; the last error it threw is named (and kept as
 * `cause`) when the wait times out. Polls quickly at first, then every `pollMs`, so a unit test
 * does not wait a whole interval for a state that came at once, and a probe that calls a service
 * is not called more often than it should be.
 *
 * `what` names the state waited for; give a function to describe, at the timeout, what was seen
 * instead (records read so far, positions reached).
 */
export async function waitFor<T>(
  what: string | (() => string),
  timeoutMs: number,
  probe: () => T | NotYet | Promise<T | NotYet>,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let delayMs = 1; ; delayMs = Math.min(delayMs * 2, pollMs)) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const description = typeof what === 'function' ? what() : what;
      const last = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${last}`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
