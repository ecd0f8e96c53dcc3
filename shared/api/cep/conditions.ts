// Conditions of a CEP pattern, as Flink's SimpleCondition and IterativeCondition: whether an event
// may be taken into a pattern stage. An iterative condition also sees the events the partial
// match has already taken (`ctx.getEventsForPattern('start')`), e.g. "a price above the average
// of the prices so far". A condition is a function or an object with `filter`, like Flink's
// anonymous condition classes; it must not keep state of its own (it runs for many partial matches).

/** What an iterative condition sees besides the event: the partial match it would extend. */
export interface ConditionContext<T> {
  /** The events the partial match took into the stage `name` so far, oldest first. */
  getEventsForPattern(name: string): readonly T[];
  /** The event time of the event being checked. */
  timestamp(): number;
  currentProcessingTime(): number;
}

/** Flink's SimpleCondition: a function of the event alone. */
export type SimpleCondition<T> = ((value: T) => boolean) | { filter(value: T): boolean };

/** Flink's IterativeCondition: a function of the event and of the partial match so far. */
export type IterativeCondition<T> = ((value: T, ctx: ConditionContext<T>) => boolean) | { filter(value: T, ctx: ConditionContext<T>): boolean };

/**
 * Either kind: a simple condition is an iterative one that ignores its context (one type, so
 * that an arrow function gets its parameter types from where it is passed).
 */
export type Condition<T> = IterativeCondition<T>;

/** A condition in the one shape the NFA evaluates. */
export type ConditionFunction<T> = (value: T, ctx: ConditionContext<T>) => boolean;

export function toConditionFunction<T>(condition: Condition<T>, what: string): ConditionFunction<T> {
  if (typeof condition === 'function') return condition as ConditionFunction<T>;
  if (condition !== null && typeof condition === 'object' && typeof (condition as { filter?: unknown }).filter === 'function') {
    const withFilter = condition as { filter(value: T, ctx: ConditionContext<T>): boolean };
    return (value, ctx) => withFilter.filter(value, ctx);
  }
  throw new TypeError(`${what} takes a condition: a function (event, ctx?) => boolean or an object with filter(event, ctx?)`);
}

export function andCondition<T>(first: ConditionFunction<T>, second: ConditionFunction<T>): ConditionFunction<T> {
  return (value, ctx) => first(value, ctx) && second(value, ctx);
}

export function orCondition<T>(first: ConditionFunction<T>, second: ConditionFunction<T>): ConditionFunction<T> {
  return (value, ctx) => first(value, ctx) || second(value, ctx);
}

export function notCondition<T>(condition: ConditionFunction<T>): ConditionFunction<T> {
  return (value, ctx) => !condition(value, ctx);
}

export const trueCondition: ConditionFunction<any> = () => true;
