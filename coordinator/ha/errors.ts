// The two ways a fenced write to the high-availability store is refused. Both are final for the
// write that got them: a FencedError means the writer is an old leader and must step down; a
// ConflictError means someone changed the value since the writer read it.

import { SluiceError, type SluiceErrorOptions } from '../../shared/errors.ts';

/** A fenced write or delete by a leadership that no longer holds (an old leader). */
export class FencedError extends SluiceError {
  override readonly domain = 'internal' as const;
  constructor(
    readonly key: string,
    /** The epoch of the leadership that tried to write. */
    readonly epoch: number,
    /** The epoch of the leader at the time of the refusal, if there was one. */
    readonly currentEpoch: number | undefined,
    detail: string,
    options?: SluiceErrorOptions,
  ) {
    super(
      `write to '${key}' refused: leadership epoch ${epoch} no longer holds ` +
        `(current leader epoch: ${currentEpoch ?? 'none'}): ${detail}`,
      options,
    );
  }
}

/** A fenced write whose expected current value did not match. */
export class ConflictError extends SluiceError {
  override readonly domain = 'internal' as const;
  constructor(
    readonly key: string,
    readonly epoch: number,
    /** What the writer expected: a value, or null for "absent". */
    readonly expected: string | null,
    /** What was there; undefined when absent. */
    readonly actual: string | undefined,
    options?: SluiceErrorOptions,
  ) {
    super(
      `write to '${key}' at epoch ${epoch} conflicts: expected ${describeValue(expected ?? undefined)}, ` +
        `found ${describeValue(actual)}`,
      options,
    );
  }
}

function describeValue(value: string | undefined): string {
  if (value === undefined) return 'no value';
  return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}… (${value.length} chars)` : JSON.stringify(value);
}
