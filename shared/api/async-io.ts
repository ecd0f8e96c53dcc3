// Asynchronous I/O, as Flink's AsyncDataStream: enrich each record from a service (HTTP, a
// database) with up to `capacity` requests in flight per subtask. `orderedWait` emits results in
// input order; `unorderedWait` as they complete, but never across a watermark (records before a
// watermark are emitted before it, as in Flink). Each request has a timeout (the function's
// `timeout` decides the result; without one the job fails), and an AsyncRetryStrategy may retry
// a failed request or an unwanted result after a delay. Records in flight are part of every
// checkpoint and are requested again after a restore, so the output holds each result once.
// Backpressure: once `capacity` records wait, the subtask takes no more input.

import { InvalidPipelineError } from '../errors.ts';
import type { DataStream, SingleOutputStreamOperator } from './data-stream.ts';
import type { RuntimeContext } from './functions.ts';

/** Flink's AsyncFunction with a promise instead of a ResultFuture: its results, or a rejection. */
export interface AsyncFunction<IN, OUT> {
  open?(context: RuntimeContext): void | Promise<void>;
  close?(): void | Promise<void>;
  /** The results of one input: none, one or several. */
  asyncInvoke(input: IN): Promise<Iterable<OUT>>;
  /**
   * The request of `input` took longer than the timeout (retries included): its results instead,
   * or throw to fail the job. Without it, a timeout fails the job, as Flink's default does.
   */
  timeout?(input: IN): Iterable<OUT>;
}

/** Whether and when a request is tried again (Flink's AsyncRetryStrategy). */
export interface AsyncRetryStrategy<OUT> {
  /** Whether attempt number `currentAttempts + 1` may run (the first attempt is 1). */
  canRetry(currentAttempts: number): boolean;
  /** The delay before attempt `currentAttempts + 1`. */
  getBackoffTimeMillis(currentAttempts: number): number;
  /** Results that should be requested again (undefined: none). */
  readonly resultPredicate?: (results: readonly OUT[]) => boolean;
  /** Errors that should be requested again (undefined: none). */
  readonly exceptionPredicate?: (error: unknown) => boolean;
}

/** Flink's RetryPredicates. */
export const RetryPredicates = {
  /** Retry when the request returned no result. */
  EMPTY_RESULT_PREDICATE: (results: readonly unknown[]) => results.length === 0,
  /** Retry on every error. */
  HAS_EXCEPTION_PREDICATE: (_error: unknown) => true,
} as const;

class RetryStrategyBuilder<OUT> {
  private resultPredicate: ((results: readonly OUT[]) => boolean) | undefined;
  private exceptionPredicate: ((error: unknown) => boolean) | undefined;

  constructor(
    private readonly maxAttempts: number,
    private readonly backoff: (currentAttempts: number) => number,
  ) {}

  ifResult(predicate: (results: readonly OUT[]) => boolean): this {
    this.resultPredicate = predicate;
    return this;
  }

  ifException(predicate: (error: unknown) => boolean): this {
    this.exceptionPredicate = predicate;
    return this;
  }

  build(): AsyncRetryStrategy<OUT> {
    const { maxAttempts, backoff, resultPredicate, exceptionPredicate } = this;
    return {
      canRetry: (currentAttempts) => currentAttempts < maxAttempts,
      getBackoffTimeMillis: backoff,
      ...(resultPredicate ? { resultPredicate } : {}),
      ...(exceptionPredicate ? { exceptionPredicate } : {}),
    };
  }
}

function requirePositiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) throw new InvalidPipelineError(`${field}: a positive integer, got ${value}`);
}

function requireNonNegative(value: number, field: string): void {
  if (!Number.isFinite(value) || value < 0) throw new InvalidPipelineError(`${field}: a non-negative number of ms, got ${value}`);
}

/** Flink's AsyncRetryStrategies: `maxAttempts` counts every attempt, the first included. */
export const AsyncRetryStrategies = {
  NO_RETRY_STRATEGY: { canRetry: () => false, getBackoffTimeMillis: () => 0 } as AsyncRetryStrategy<never>,
  fixedDelay<OUT>(maxAttempts: number, delayMs: number): RetryStrategyBuilder<OUT> {
    requirePositiveInteger(maxAttempts, 'fixedDelay maxAttempts');
    requireNonNegative(delayMs, 'fixedDelay delayMs');
    return new RetryStrategyBuilder<OUT>(maxAttempts, () => delayMs);
  },
  exponentialBackoff<OUT>(maxAttempts: number, initialDelayMs: number, maxRetryDelayMs: number, multiplier: number): RetryStrategyBuilder<OUT> {
    requirePositiveInteger(maxAttempts, 'exponentialBackoff maxAttempts');
    requireNonNegative(initialDelayMs, 'exponentialBackoff initialDelayMs');
    requireNonNegative(maxRetryDelayMs, 'exponentialBackoff maxRetryDelayMs');
    if (!Number.isFinite(multiplier) || multiplier < 1) throw new InvalidPipelineError(`exponentialBackoff multiplier: a number >= 1, got ${multiplier}`);
    return new RetryStrategyBuilder<OUT>(maxAttempts, (currentAttempts) => Math.min(maxRetryDelayMs, initialDelayMs * multiplier ** (currentAttempts - 1)));
  },
};

/** What the async operator is given (the plan's OperatorSpec for it). */
export interface AsyncOperatorSpec {
  readonly kind: 'async';
  readonly fn: AsyncFunction<any, any>;
  readonly ordered: boolean;
  readonly timeoutMs: number;
  readonly capacity: number;
  readonly retry: AsyncRetryStrategy<any> | undefined;
}

/** An AsyncFunction (copied for each subtask, as other function objects; open() may set up a client), or just its asyncInvoke. */
type AsyncFunctionArgument<IN, OUT> = AsyncFunction<IN, OUT> | ((input: IN) => Promise<Iterable<OUT>>);

function asyncOperator<IN, OUT>(
  stream: DataStream<IN>,
  fn: AsyncFunctionArgument<IN, OUT>,
  ordered: boolean,
  timeoutMs: number,
  capacity: number,
  retry: AsyncRetryStrategy<OUT> | undefined,
): SingleOutputStreamOperator<OUT> {
  const method = ordered ? 'orderedWait' : 'unorderedWait';
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidPipelineError(`AsyncDataStream.${method}: timeout must be a positive number of ms, got ${timeoutMs}`);
  requirePositiveInteger(capacity, `AsyncDataStream.${method}: capacity`);
  if (typeof fn !== 'function' && (typeof fn !== 'object' || fn === null || typeof fn.asyncInvoke !== 'function')) {
    throw new InvalidPipelineError(`AsyncDataStream.${method}: the function must have asyncInvoke(input) returning a promise of the results`);
  }
  const spec: AsyncOperatorSpec = {
    kind: 'async',
    fn: typeof fn === 'function' ? { asyncInvoke: fn } : fn,
    ordered,
    timeoutMs,
    capacity,
    retry,
  };
  return stream.addOperator<OUT>(ordered ? 'Async (ordered)' : 'Async (unordered)', spec);
}

/** Flink's AsyncDataStream. `capacity` defaults to 100, as Flink's. */
export const AsyncDataStream = {
  orderedWait<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionArgument<IN, OUT>, timeoutMs: number, capacity = 100): SingleOutputStreamOperator<OUT> {
    return asyncOperator(stream, fn, true, timeoutMs, capacity, undefined);
  },
  unorderedWait<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionArgument<IN, OUT>, timeoutMs: number, capacity = 100): SingleOutputStreamOperator<OUT> {
    return asyncOperator(stream, fn, false, timeoutMs, capacity, undefined);
  },
  orderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionArgument<IN, OUT>, timeoutMs: number, capacity: number, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT> {
    return asyncOperator(stream, fn, true, timeoutMs, capacity, retry);
  },
  unorderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionArgument<IN, OUT>, timeoutMs: number, capacity: number, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT> {
    return asyncOperator(stream, fn, false, timeoutMs, capacity, retry);
  },
};
