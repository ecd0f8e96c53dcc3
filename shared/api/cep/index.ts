// Flink CEP for Sluice: patterns over keyed streams (Pattern, conditions, quantifiers, skip
// strategies) and CEP.pattern(stream, pattern).process(fn) to act on the matches.

export { CEP, PatternStream } from './pattern-stream.ts';
export { Pattern, Quantifier, type ConsumingStrategy, type QuantifierProperty, type Times } from './pattern.ts';
export { AfterMatchSkipStrategy, type SkipStrategyKind } from './skip-strategy.ts';
export { MalformedPatternError } from './pattern-errors.ts';
export type { Condition, ConditionContext, IterativeCondition, SimpleCondition } from './conditions.ts';
export type {
  PatternFlatSelectFunction,
  PatternFlatTimeoutFunction,
  PatternProcessContext,
  PatternProcessFunction,
  PatternSelectFunction,
  PatternTimeoutFunction,
  TimedOutPartialMatchHandler,
} from './pattern-process-function.ts';
