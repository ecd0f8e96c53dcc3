// The restart strategy as configuration gives it (`--restart-strategy`, a coordinator's config
// file): its kinds, options and Flink's defaults, and the parser that validates it. Kinds, option
// names and defaults follow Flink's `restart-strategy.*` options; durations are milliseconds. The
// strategies themselves are the coordinator's (coordinator/scheduler/restart-strategy.ts).

import { z } from 'zod';
import { ConfigurationError } from '../errors.ts';
import { parseDurationMs } from '../api/time.ts';
import { configurationErrorFromZod } from './configuration-error-from-zod.ts';

export interface NoRestartConfig {
  readonly kind: 'none';
}

export interface FixedDelayRestartConfig {
  readonly kind: 'fixed-delay';
  /** Failures after which the job still restarts; the next one fails it. */
  readonly attempts: number;
  readonly delayMs: number;
}

export interface ExponentialDelayRestartConfig {
  readonly kind: 'exponential-delay';
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  /** A run this long without a failure resets the backoff (and the attempt count) to the start. */
  readonly resetBackoffThresholdMs: number;
  /** Each backoff moves by a random amount within ± this fraction of itself. */
  readonly jitterFactor: number;
  /** Failures since the last reset after which the job still restarts; undefined = no cap. */
  readonly attempts: number | undefined;
}

export interface FailureRateRestartConfig {
  readonly kind: 'failure-rate';
  /** Failures within any one interval that the job survives; one more fails it. */
  readonly maxFailuresPerInterval: number;
  readonly failureRateIntervalMs: number;
  readonly delayMs: number;
}

export type RestartStrategyConfig =
  | NoRestartConfig
  | FixedDelayRestartConfig
  | ExponentialDelayRestartConfig
  | FailureRateRestartConfig;

export type RestartStrategyKind = RestartStrategyConfig['kind'];

export const RESTART_STRATEGY_KINDS: readonly RestartStrategyKind[] = ['none', 'fixed-delay', 'exponential-delay', 'failure-rate'];

/** Flink's defaults for each kind (`restart-strategy.<kind>.*`). */
export const RESTART_STRATEGY_DEFAULTS = {
  'fixed-delay': { attempts: 1, delayMs: 1_000 },
  'exponential-delay': {
    initialBackoffMs: 1_000,
    maxBackoffMs: 60_000,
    backoffMultiplier: 2.0,
    resetBackoffThresholdMs: 3_600_000,
    jitterFactor: 0.1,
    attempts: undefined,
  },
  'failure-rate': { maxFailuresPerInterval: 1, failureRateIntervalMs: 60_000, delayMs: 1_000 },
} as const;

/** What a cluster uses when nothing is configured: exponential delay with Flink's defaults. */
export const DEFAULT_RESTART_STRATEGY: ExponentialDelayRestartConfig = Object.freeze({
  kind: 'exponential-delay',
  ...RESTART_STRATEGY_DEFAULTS['exponential-delay'],
});

const show = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
};

/** Milliseconds: a number, or a duration text such as "10s" or "1m". */
const durationMs = (min: number) =>
  z.unknown().transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : typeof value === 'string' ? parseDurationMs(value) : undefined;
    if (ms === undefined || !Number.isSafeInteger(ms) || ms < min) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${show(value)} is not a duration of at least ${min} ms (a number of milliseconds, or text like "500ms", "10s", "1m")` });
      return z.NEVER;
    }
    return ms;
  });

const integer = (min: number) =>
  z.unknown().transform((value, ctx) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${show(value)} is not an integer of at least ${min}` });
      return z.NEVER;
    }
    return value;
  });

const numberBetween = (min: number, max: number, { minExclusive = false } = {}) =>
  z.unknown().transform((value, ctx) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value > max || (minExclusive ? value <= min : value < min)) {
      const range = minExclusive ? `greater than ${min}` : `at least ${min}`;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${show(value)} is not a number ${range}${Number.isFinite(max) ? ` and at most ${max}` : ''}` });
      return z.NEVER;
    }
    return value;
  });

const fixedDelayOptions = z
  .object({
    kind: z.literal('fixed-delay'),
    attempts: integer(0).optional(),
    delayMs: durationMs(0).optional(),
  })
  .strict();
const fixedDelaySchema = fixedDelayOptions.transform((c): FixedDelayRestartConfig => ({
    kind: 'fixed-delay',
    attempts: c.attempts ?? RESTART_STRATEGY_DEFAULTS['fixed-delay'].attempts,
    delayMs: c.delayMs ?? RESTART_STRATEGY_DEFAULTS['fixed-delay'].delayMs,
  }));

const exponentialDelayOptions = z
  .object({
    kind: z.literal('exponential-delay'),
    initialBackoffMs: durationMs(1).optional(),
    maxBackoffMs: durationMs(1).optional(),
    backoffMultiplier: numberBetween(1, Infinity).optional(),
    resetBackoffThresholdMs: durationMs(1).optional(),
    jitterFactor: numberBetween(0, 1).optional(),
    attempts: integer(0).optional(),
  })
  .strict();
const exponentialDelaySchema = exponentialDelayOptions
  .transform((c): ExponentialDelayRestartConfig => {
    const d = RESTART_STRATEGY_DEFAULTS['exponential-delay'];
    return {
      kind: 'exponential-delay',
      initialBackoffMs: c.initialBackoffMs ?? d.initialBackoffMs,
      maxBackoffMs: c.maxBackoffMs ?? d.maxBackoffMs,
      backoffMultiplier: c.backoffMultiplier ?? d.backoffMultiplier,
      resetBackoffThresholdMs: c.resetBackoffThresholdMs ?? d.resetBackoffThresholdMs,
      jitterFactor: c.jitterFactor ?? d.jitterFactor,
      attempts: c.attempts,
    };
  })
  .superRefine((c, ctx) => {
    if (c.maxBackoffMs < c.initialBackoffMs) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxBackoffMs'], message: `${c.maxBackoffMs} is less than initialBackoffMs (${c.initialBackoffMs})` });
    }
  });

const failureRateOptions = z
  .object({
    kind: z.literal('failure-rate'),
    maxFailuresPerInterval: integer(1).optional(),
    failureRateIntervalMs: durationMs(1).optional(),
    delayMs: durationMs(0).optional(),
  })
  .strict();
const failureRateSchema = failureRateOptions.transform((c): FailureRateRestartConfig => {
    const d = RESTART_STRATEGY_DEFAULTS['failure-rate'];
    return {
      kind: 'failure-rate',
      maxFailuresPerInterval: c.maxFailuresPerInterval ?? d.maxFailuresPerInterval,
      failureRateIntervalMs: c.failureRateIntervalMs ?? d.failureRateIntervalMs,
      delayMs: c.delayMs ?? d.delayMs,
    };
  });

const noneSchema = z.object({ kind: z.literal('none') }).strict();

const schemaByKind: Record<RestartStrategyKind, { options: z.AnyZodObject; schema: z.ZodType<RestartStrategyConfig, z.ZodTypeDef, unknown> }> = {
  none: { options: noneSchema, schema: noneSchema },
  'fixed-delay': { options: fixedDelayOptions, schema: fixedDelaySchema },
  'exponential-delay': { options: exponentialDelayOptions, schema: exponentialDelaySchema },
  'failure-rate': { options: failureRateOptions, schema: failureRateSchema },
};

/**
 * Validates a restart strategy given as an object (`{ "kind": "fixed-delay", "attempts": 3,
 * "delayMs": "10s" }`), as that object's JSON text, or as a bare kind name for its defaults.
 * Omitted options take Flink's defaults. Throws ConfigurationError naming the offending option
 * under `field` (e.g. `restartStrategy.delayMs`).
 */
export function parseRestartStrategy(input: unknown, field = 'restartStrategy'): RestartStrategyConfig {
  let value = input;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{')) {
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new ConfigurationError(field, `is not valid JSON: ${(error as Error).message}`);
      }
    } else {
      value = { kind: text };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError(field, `expected an object with a "kind" (${RESTART_STRATEGY_KINDS.join(', ')}) or a kind name, got ${show(value)}`);
  }
  const kind = (value as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(kind in schemaByKind)) {
    const got = kind === undefined ? 'nothing' : show(kind);
    throw new ConfigurationError(`${field}.kind`, `must be one of ${RESTART_STRATEGY_KINDS.join(', ')}; got ${got}`);
  }
  const { options, schema } = schemaByKind[kind as RestartStrategyKind];
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const known = Object.keys(options.shape).filter((k) => k !== 'kind');
      throw new ConfigurationError(`${field}.${issue.keys[0]}`, `is not an option of ${kind}; its options are ${known.join(', ') || 'none'}`);
    }
    throw configurationErrorFromZod(result.error, field);
  }
  return Object.freeze(result.data);
}
