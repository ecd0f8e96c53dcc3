// Checks shared by every connector's options: an object, with no field the connector does not
// know (a misspelt option would otherwise be silently ignored), positive integers; each refusal
// naming the field.

import { ConfigurationError } from '../../../shared/errors.ts';

/** `what` names the connector class (`KafkaSink`); `article` is how the message reads before it. */
export function checkKnownFields(options: object, known: ReadonlySet<string>, what: string, article: 'a' | 'an' = 'a'): void {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError(what, `options must be an object, got ${String(options)}`);
  for (const field of Object.keys(options)) {
    if (!known.has(field)) throw new ConfigurationError(field, `is not ${article} ${what} option (known: ${[...known].join(', ')})`);
  }
}

/** An optional positive integer option, or `fallback`; `unit` (when given) goes into the error. */
export function positiveIntegerOption(field: string, value: unknown, fallback: number, unit?: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigurationError(field, `must be a positive integer${unit === undefined ? '' : ` (${unit})`}, got ${String(value)}`);
  }
  return value;
}
