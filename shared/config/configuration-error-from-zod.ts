// The one way a zod refusal becomes a ConfigurationError: the field is named by the path of the
// first issue, the problem is zod's message, passed on as is because our schemas carry messages
// written for a person.

import type { z } from 'zod';
import { ConfigurationError } from '../errors.ts';

/** How the field is named from an issue's path (`['restartStrategy', 'delayMs']`, `[]` for the whole value). */
export type ZodFieldNaming = string | ((path: readonly (string | number)[]) => string);

/**
 * The first issue of `error` as a ConfigurationError. `field` is what the checked value is called:
 * text puts the issue's path under it (`restartStrategy.delayMs`, or `restartStrategy` for the
 * value as a whole); a function names the field from the path (`--parallelism`). Without it, the
 * path alone names the field, and `options` stands for the whole value.
 */
export function configurationErrorFromZod(error: z.ZodError, field?: ZodFieldNaming): ConfigurationError {
  const issue = error.issues[0]!;
  const name =
    typeof field === 'function' ? field(issue.path) : field === undefined ? issue.path.join('.') || 'options' : [field, ...issue.path].join('.');
  return new ConfigurationError(name, issue.message);
}
