// Flink's MalformedPatternException: a pattern that cannot be compiled or a quantifier that does
// not apply, reported when the pipeline is built.

import { InvalidPipelineError } from '../../errors.ts';

export class MalformedPatternError extends InvalidPipelineError {}
