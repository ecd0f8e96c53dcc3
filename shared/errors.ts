// Named errors with a domain and a retry hint. `user` errors are the application's or the
// caller's to fix (bad flag, invalid pipeline, unreadable record); `external` errors come from a
// system we talk to; `internal` errors are our bugs. One place (`describeError`) turns any thrown
// value into that pair for logs, exit codes and, later, gRPC and HTTP status codes.

export type ErrorDomain = 'user' | 'external' | 'internal';

export interface SluiceErrorOptions {
  cause?: unknown;
  retriable?: boolean;
}

export class SluiceError extends Error {
  readonly domain: ErrorDomain = 'internal';
  readonly retriable: boolean;

  constructor(message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** A flag, property or option value that is not valid; `field` names it. */
export class ConfigurationError extends SluiceError {
  override readonly domain = 'user' as const;
  constructor(readonly field: string, message: string, options?: SluiceErrorOptions) {
    super(`${field}: ${message}`, options);
  }
}

/** The application built a pipeline that cannot run (window on a non-keyed stream, duplicate uid, …). */
export class InvalidPipelineError extends SluiceError {
  override readonly domain = 'user' as const;
}

/** The application module could not be loaded or its default export is not a pipeline builder. */
export class ApplicationLoadError extends SluiceError {
  override readonly domain = 'user' as const;
}

/** A user function threw while processing a record. */
export class UserFunctionError extends SluiceError {
  override readonly domain = 'user' as const;
}

/** A record a source could not deserialize; carries where it came from. */
export class RecordDeserializationError extends SluiceError {
  override readonly domain = 'user' as const;
  constructor(message: string, readonly position: string, options?: SluiceErrorOptions) {
    super(message, options);
  }
}

/** A checkpoint or snapshot that cannot be used to restore (missing, corrupt, incompatible). */
export class RestoreError extends SluiceError {
  override readonly domain = 'user' as const;
}

export class CheckpointError extends SluiceError {
  override readonly domain = 'internal' as const;
}

export class ExternalSystemError extends SluiceError {
  override readonly domain = 'external' as const;
}

export interface ErrorDescription {
  name: string;
  message: string;
  domain: ErrorDomain;
  retriable: boolean;
  cause?: ErrorDescription;
}

export function describeError(error: unknown): ErrorDescription {
  if (error instanceof SluiceError) {
    return {
      name: error.name,
      message: error.message,
      domain: error.domain,
      retriable: error.retriable,
      ...(error.cause === undefined ? {} : { cause: describeError(error.cause) }),
    };
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const external = typeof code === 'string' && /^E[A-Z]+$/.test(code);
    return { name: error.name, message: error.message, domain: external ? 'external' : 'internal', retriable: external };
  }
  return { name: 'Error', message: String(error), domain: 'internal', retriable: false };
}

/** The message of an error and of each cause under it, joined, for a one-line report. */
export function errorChainMessage(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    // A wrapper that already quotes its cause's message does not need it twice.
    if (!parts.some((p) => p.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': caused by: ');
}

/** The caller presented no cluster token, or a wrong one. */
export class AuthenticationError extends SluiceError {
  override readonly domain = 'user' as const;
}

/** A job, worker or checkpoint the caller named does not exist. */
export class NotFoundError extends SluiceError {
  override readonly domain = 'user' as const;
}

/** A request that is malformed or not allowed in the current state (names the field). */
export class InvalidRequestError extends SluiceError {
  override readonly domain = 'user' as const;
}

/**
 * A call or commit made with a leader epoch lower than one the receiver has seen: the caller is
 * an old leader and must step down.
 */
export class StaleEpochError extends SluiceError {
  override readonly domain = 'internal' as const;
}

/** This coordinator is not the leader; `leader` says who is, when known. */
export class NotLeaderError extends SluiceError {
  override readonly domain = 'internal' as const;
  constructor(message: string, readonly leader?: string) {
    super(message, { retriable: true });
  }
}

// The two ways a fenced write to the high-availability store is refused. Both are final for the
// write that got them: a FencedError means the writer is an old leader and must step down; a
// ConflictError means someone changed the value since the writer read it.

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

/**
 * What an error means to a caller, whatever carries the answer: REST maps it to an HTTP status,
 * gRPC to a status code (rest-server.ts, rpc.ts). One table, so the two never disagree.
 */
export type ErrorStatus = 'unauthenticated' | 'not-found' | 'not-leader' | 'stale-epoch' | 'invalid-argument' | 'unavailable' | 'internal';

export function errorStatusOf(error: unknown): ErrorStatus {
  if (error instanceof AuthenticationError) return 'unauthenticated';
  if (error instanceof NotFoundError) return 'not-found';
  // A standby, or a leader that lost its leadership mid-request: nothing was completed, ask the leader.
  if (error instanceof NotLeaderError || error instanceof FencedError) return 'not-leader';
  if (error instanceof StaleEpochError) return 'stale-epoch';
  if (
    error instanceof InvalidRequestError ||
    error instanceof ConfigurationError ||
    error instanceof InvalidPipelineError ||
    error instanceof ApplicationLoadError ||
    error instanceof RestoreError
  ) {
    return 'invalid-argument';
  }
  if (error instanceof SluiceError && error.retriable) return 'unavailable';
  return 'internal';
}
