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
