// Compiles a Pattern into the states and transitions of an NFA, as Flink's NFACompiler does
// (group patterns aside): walking the pattern from its last stage to its first, each stage
// becomes one or more states with TAKE (consume the event into this stage), IGNORE (skip the
// event, stay) and PROCEED (move on without consuming) transitions. Quantifiers unroll into
// chains of states, NOT stages become transitions to stop states, a notFollowedBy at the end
// becomes a pending state that completes when the window closes. The state names are internal
// and deterministic, so partial matches stored in a checkpoint name the same states after a restore.

import { andCondition, notCondition, trueCondition, type ConditionFunction } from '../api/cep/conditions.ts';
import { MalformedPatternError } from '../api/cep/pattern-errors.ts';
import type { Pattern, Times } from '../api/cep/pattern.ts';
import type { AfterMatchSkipStrategy } from '../api/cep/skip-strategy.ts';

export type NfaStateType = 'start' | 'normal' | 'final' | 'stop' | 'pending';
export type TransitionAction = 'take' | 'ignore' | 'proceed';

export interface StateTransition<T> {
  readonly action: TransitionAction;
  readonly source: NfaNode<T>;
  readonly target: NfaNode<T>;
  /** Undefined: always. Mutable only while compiling (greedy stages narrow the next stage's conditions). */
  condition: ConditionFunction<T> | undefined;
}

export class NfaNode<T> {
  readonly transitions: StateTransition<T>[] = [];

  constructor(
    /** Unique within the NFA: the stage name, with `:n` for the second and later states of a stage. */
    readonly name: string,
    /** The stage (pattern name) the events this state takes are recorded under. */
    readonly patternName: string,
    public type: NfaStateType,
  ) {}

  addTransition(action: TransitionAction, target: NfaNode<T>, condition: ConditionFunction<T> | undefined): void {
    this.transitions.push({ action, source: this, target, condition });
  }

  addTake(target: NfaNode<T>, condition: ConditionFunction<T>): void {
    this.addTransition('take', target, condition);
  }

  addIgnore(target: NfaNode<T>, condition: ConditionFunction<T>): void {
    this.addTransition('ignore', target, condition);
  }

  addProceed(target: NfaNode<T>, condition: ConditionFunction<T>): void {
    this.addTransition('proceed', target, condition);
  }

  get isStart(): boolean {
    return this.type === 'start';
  }
  get isFinal(): boolean {
    return this.type === 'final';
  }
  get isStop(): boolean {
    return this.type === 'stop';
  }
  get isPending(): boolean {
    return this.type === 'pending';
  }
}

export interface CompiledPattern<T> {
  readonly states: ReadonlyMap<string, NfaNode<T>>;
  readonly startState: NfaNode<T>;
  /** 0: no `within`. */
  readonly windowTimeMs: number;
  readonly skipStrategy: AfterMatchSkipStrategy;
  /** The stage names, first to last (NOT stages included). */
  readonly stageNames: readonly string[];
}

export const ENDING_STATE_NAME = '$endState$';

export function compilePattern<T>(pattern: Pattern<T>): CompiledPattern<T> {
  return new NfaFactoryCompiler(pattern).compile();
}

class NfaFactoryCompiler<T> {
  private readonly states = new Map<string, NfaNode<T>>();
  private readonly usedNames = new Map<string, number>();
  private readonly stopStates = new Map<string, NfaNode<T>>();
  /** Greedy stages with an until condition proceed to an unnarrowed copy of the next state. */
  private readonly originalStateMap = new Map<string, NfaNode<T>>();
  private readonly windowTimeMs: number;
  private currentPattern: Pattern<T>;
  private followingPattern: Pattern<T> | undefined;

  constructor(private readonly lastPattern: Pattern<T>) {
    this.currentPattern = lastPattern;
    // Flink takes the shortest `within` of all stages.
    let window = Number.POSITIVE_INFINITY;
    for (let p: Pattern<T> | undefined = lastPattern; p; p = p.getPrevious()) window = Math.min(window, p.getWindowTimeMs() ?? Number.POSITIVE_INFINITY);
    this.windowTimeMs = Number.isFinite(window) ? window : 0;
  }

  compile(): CompiledPattern<T> {
    const stageNames = this.checkPatternNameUniqueness();
    this.checkPatternSkipStrategy(stageNames);
    if (this.lastPattern.getQuantifier().consumingStrategy === 'not-follow' && this.windowTimeMs === 0) {
      throw new MalformedPatternError('NotFollowedBy is not supported without windowTime as a last part of a Pattern!');
    }
    let sink = this.createState(ENDING_STATE_NAME, 'final');
    sink = this.createMiddleStates(sink);
    const start = this.convertPattern(sink);
    start.type = 'start';
    return { states: this.states, startState: start, windowTimeMs: this.windowTimeMs, skipStrategy: this.lastPattern.getAfterMatchSkipStrategy(), stageNames };
  }

  private checkPatternNameUniqueness(): string[] {
    const names: string[] = [];
    for (let p: Pattern<T> | undefined = this.lastPattern; p; p = p.getPrevious()) {
      if (p.getName() === ENDING_STATE_NAME || names.includes(p.getName())) {
        throw new MalformedPatternError(`Duplicate pattern name: ${p.getName()}. Names must be unique.`);
      }
      names.unshift(p.getName());
    }
    return names;
  }

  private checkPatternSkipStrategy(stageNames: readonly string[]): void {
    const name = this.lastPattern.getAfterMatchSkipStrategy().patternName;
    if (name !== undefined && !stageNames.includes(name)) {
      throw new MalformedPatternError(`The pattern name specified in AfterMatchSkipStrategy (${name}) can not be found in the given Pattern`);
    }
  }

  private createState(patternName: string, type: NfaStateType): NfaNode<T> {
    const used = this.usedNames.get(patternName) ?? 0;
    this.usedNames.set(patternName, used + 1);
    const state = new NfaNode<T>(used === 0 ? patternName : `${patternName}:${used}`, patternName, type);
    this.states.set(state.name, state);
    return state;
  }

  private createMiddleStates(sinkState: NfaNode<T>): NfaNode<T> {
    let lastSink = sinkState;
    while (this.currentPattern.getPrevious() !== undefined) {
      const strategy = this.currentPattern.getQuantifier().consumingStrategy;
      if (strategy === 'not-follow') {
        // In the middle, a notFollowedBy becomes stop transitions of the stages around it; as the
        // last stage, a pending state that waits out the window.
        if (lastSink.isFinal) {
          const notFollow = this.createState(this.currentPattern.getName(), 'pending');
          const notCond = this.takeCondition(this.currentPattern);
          const stopState = this.createStopState(notCond, this.currentPattern.getName());
          notFollow.addProceed(stopState, notCond);
          notFollow.addIgnore(notFollow, notCondition(notCond));
          lastSink = notFollow;
        }
      } else if (strategy === 'not-next') {
        const notNext = this.createState(this.currentPattern.getName(), 'normal');
        const notCond = this.takeCondition(this.currentPattern);
        const stopState = this.createStopState(notCond, this.currentPattern.getName());
        // Ignore rather than proceed into the final state, so that the event is not taken as a match of its own.
        if (lastSink.isFinal) notNext.addIgnore(lastSink, notCondition(notCond));
        else notNext.addProceed(lastSink, notCondition(notCond));
        notNext.addProceed(stopState, notCond);
        lastSink = notNext;
      } else {
        lastSink = this.convertPattern(lastSink);
      }
      this.followingPattern = this.currentPattern;
      this.currentPattern = this.currentPattern.getPrevious()!;
    }
    return lastSink;
  }

  private convertPattern(sinkState: NfaNode<T>): NfaNode<T> {
    const quantifier = this.currentPattern.getQuantifier();
    let lastSink: NfaNode<T>;
    if (quantifier.hasProperty('looping')) {
      const sink = this.copyWithoutTransitiveNots(sinkState);
      const looping = this.createLooping(sink);
      // timesOrMore(n): n - 1 states before the looping one, which takes the n-th and later events.
      const from = this.currentPattern.getTimes()!.from;
      lastSink = this.createTimesState(looping, sinkState, { from, to: from });
    } else if (quantifier.hasProperty('times')) {
      lastSink = this.createTimesState(sinkState, sinkState, this.currentPattern.getTimes()!);
    } else {
      lastSink = this.createSingletonState(sinkState, sinkState, this.takeCondition(this.currentPattern), this.ignoreCondition(this.currentPattern), this.isOptional(this.currentPattern));
    }
    this.addStopStates(lastSink);
    return lastSink;
  }

  /** The NOT stages before the current one that an optional path keeps in force, nearest first. */
  private currentNotConditions(): Array<[ConditionFunction<T>, string]> {
    const notConditions: Array<[ConditionFunction<T>, string]> = [];
    let previous = this.currentPattern;
    for (;;) {
      const before = previous.getPrevious();
      if (before === undefined) break;
      if (!before.getQuantifier().hasProperty('optional') && before.getQuantifier().consumingStrategy !== 'not-follow') break;
      previous = before;
      if (previous.getQuantifier().consumingStrategy === 'not-follow') notConditions.push([this.takeCondition(previous), previous.getName()]);
    }
    return notConditions;
  }

  private createStopState(notCond: ConditionFunction<T>, name: string): NfaNode<T> {
    // All states that can stop on the same NOT stage share its stop state.
    let stopState = this.stopStates.get(name);
    if (stopState === undefined) {
      stopState = this.createState(name, 'stop');
      stopState.addTake(stopState, notCond);
      this.stopStates.set(name, stopState);
    }
    return stopState;
  }

  /**
   * The target of a TAKE from an optional stage: taking an event there ends the NOT stages
   * before it, e.g. for begin(a).notFollowedBy(b).followedByAny(c).optional().followedByAny(d)
   * `a c b d` matches but `a b d` does not. Copies only when needed.
   */
  private copyWithoutTransitiveNots(sinkState: NfaNode<T>): NfaNode<T> {
    const nots = this.currentNotConditions();
    if (nots.length === 0 || !this.currentPattern.getQuantifier().hasProperty('optional')) return sinkState;
    const copy = this.createState(sinkState.patternName, sinkState.type);
    for (const transition of sinkState.transitions) {
      if (transition.action === 'proceed') {
        let target = transition.target;
        let remove = false;
        if (target.isStop) remove = nots.some(([, name]) => name === target.patternName);
        else target = this.copyWithoutTransitiveNots(target);
        if (!remove) copy.addTransition('proceed', target, transition.condition);
      } else {
        copy.addTransition(transition.action, transition.target === transition.source ? copy : transition.target, transition.condition);
      }
    }
    return copy;
  }

  private copy(state: NfaNode<T>): NfaNode<T> {
    const copy = this.createState(state.patternName, state.type);
    for (const transition of state.transitions) {
      copy.addTransition(transition.action, transition.target === transition.source ? copy : transition.target, transition.condition);
    }
    return copy;
  }

  private addStopStates(state: NfaNode<T>): void {
    for (const [notCond, name] of this.currentNotConditions()) state.addProceed(this.createStopState(notCond, name), notCond);
  }

  private addStopStateToLooping(loopingState: NfaNode<T>): void {
    const following = this.followingPattern;
    if (following !== undefined && following.getQuantifier().consumingStrategy === 'not-follow') {
      const notCond = this.takeCondition(following);
      loopingState.addProceed(this.createStopState(notCond, following.getName()), notCond);
    }
  }

  /**
   * A stage taken `times.from` to `times.to` times: a chain of states, the first `from` required,
   * the rest optional (each may proceed to `proceedState`).
   */
  private createTimesState(sinkState: NfaNode<T>, proceedState: NfaNode<T>, times: Times): NfaNode<T> {
    let lastSink = sinkState;
    const pattern = this.currentPattern;
    const untilCondition = pattern.getUntilCondition();
    const innerIgnoreCondition = extendWithUntilCondition(this.innerIgnoreCondition(pattern), untilCondition, false);
    const takeCondition = extendWithUntilCondition(this.takeCondition(pattern), untilCondition, true)!;
    if (pattern.getQuantifier().hasProperty('greedy') && times.from !== times.to) {
      if (untilCondition !== undefined) this.originalStateMap.set(sinkState.name, this.copy(sinkState));
      updateWithGreedyCondition(sinkState, takeCondition);
    }
    for (let i = times.from; i < times.to; i++) {
      lastSink = this.createSingletonState(lastSink, proceedState, takeCondition, innerIgnoreCondition, true);
      this.addStopStateToLooping(lastSink);
    }
    for (let i = 0; i < times.from - 1; i++) {
      lastSink = this.createSingletonState(lastSink, undefined, takeCondition, innerIgnoreCondition, false);
      this.addStopStateToLooping(lastSink);
    }
    return this.createSingletonState(lastSink, proceedState, takeCondition, this.ignoreCondition(pattern), this.isOptional(pattern));
  }

  /**
   * One state of the current stage. An optional one proceeds to `proceedState`, and its IGNORE
   * goes to a twin without that PROCEED, so that a skipped event does not branch into the next
   * stage once for every event skipped.
   */
  private createSingletonState(
    sinkState: NfaNode<T>,
    proceedState: NfaNode<T> | undefined,
    takeCondition: ConditionFunction<T>,
    ignoreCondition: ConditionFunction<T> | undefined,
    isOptional: boolean,
  ): NfaNode<T> {
    const pattern = this.currentPattern;
    const singletonState = this.createState(pattern.getName(), 'normal');
    // Taking an event ends the NOT stages before an optional one.
    const sink = this.copyWithoutTransitiveNots(sinkState);
    singletonState.addTake(sink, takeCondition);

    if (isOptional) {
      const untilCondition = pattern.getUntilCondition();
      if (pattern.getQuantifier().hasProperty('greedy') && untilCondition !== undefined) {
        singletonState.addProceed(this.originalStateMap.get(proceedState!.name) ?? proceedState!, andCondition(trueCondition, untilCondition));
        singletonState.addProceed(proceedState!, andCondition(trueCondition, notCondition(untilCondition)));
      } else {
        singletonState.addProceed(proceedState!, trueCondition);
      }
    }

    if (ignoreCondition !== undefined) {
      let ignoreState: NfaNode<T>;
      if (isOptional) {
        ignoreState = this.createState(pattern.getName(), 'normal');
        ignoreState.addTake(sink, takeCondition);
        ignoreState.addIgnore(ignoreState, ignoreCondition);
        this.addStopStates(ignoreState);
      } else {
        ignoreState = singletonState;
      }
      singletonState.addIgnore(ignoreState, ignoreCondition);
    }
    return singletonState;
  }

  /** A state with a TAKE to itself and a PROCEED to `sinkState` (oneOrMore, timesOrMore). */
  private createLooping(sinkState: NfaNode<T>): NfaNode<T> {
    const pattern = this.currentPattern;
    const untilCondition = pattern.getUntilCondition();
    const ignoreCondition = extendWithUntilCondition(this.innerIgnoreCondition(pattern), untilCondition, false);
    const takeCondition = extendWithUntilCondition(this.takeCondition(pattern), untilCondition, true)!;

    const loopingState = this.createState(pattern.getName(), 'normal');
    if (pattern.getQuantifier().hasProperty('greedy')) {
      if (untilCondition !== undefined) {
        const sinkStateCopy = this.copy(sinkState);
        loopingState.addProceed(sinkStateCopy, andCondition(trueCondition, untilCondition));
        this.originalStateMap.set(sinkState.name, sinkStateCopy);
      }
      loopingState.addProceed(sinkState, untilCondition !== undefined ? andCondition(trueCondition, notCondition(untilCondition)) : trueCondition);
      updateWithGreedyCondition(sinkState, this.takeCondition(pattern));
    } else {
      loopingState.addProceed(sinkState, trueCondition);
    }
    loopingState.addTake(loopingState, takeCondition);
    this.addStopStateToLooping(loopingState);

    if (ignoreCondition !== undefined) {
      const ignoreState = this.createState(pattern.getName(), 'normal');
      ignoreState.addTake(loopingState, takeCondition);
      ignoreState.addIgnore(ignoreState, ignoreCondition);
      loopingState.addIgnore(ignoreState, ignoreCondition);
      this.addStopStateToLooping(ignoreState);
    }
    return loopingState;
  }

  private isOptional(pattern: Pattern<T>): boolean {
    return pattern.getQuantifier().hasProperty('optional');
  }

  private takeCondition(pattern: Pattern<T>): ConditionFunction<T> {
    return pattern.getCondition() ?? trueCondition;
  }

  /** Which events a stage skips before its first event: none (next), non-matching ones (followedBy), any (followedByAny). */
  private ignoreCondition(pattern: Pattern<T>): ConditionFunction<T> | undefined {
    return ignoreConditionFor(pattern.getQuantifier().consumingStrategy, this.takeCondition(pattern));
  }

  /** The same between the events of a looping or times stage (consecutive, default, allowCombinations). */
  private innerIgnoreCondition(pattern: Pattern<T>): ConditionFunction<T> | undefined {
    return ignoreConditionFor(pattern.getQuantifier().innerConsumingStrategy, this.takeCondition(pattern));
  }
}

function ignoreConditionFor<T>(strategy: string, takeCondition: ConditionFunction<T>): ConditionFunction<T> | undefined {
  switch (strategy) {
    case 'skip-till-next':
      return notCondition(takeCondition);
    case 'skip-till-any':
      return trueCondition;
    default:
      return undefined;
  }
}

/** An until condition stops a looping stage: its events must not satisfy it. */
function extendWithUntilCondition<T>(
  condition: ConditionFunction<T> | undefined,
  untilCondition: ConditionFunction<T> | undefined,
  isTakeCondition: boolean,
): ConditionFunction<T> | undefined {
  if (untilCondition !== undefined && condition !== undefined) return andCondition(notCondition(untilCondition), condition);
  if (untilCondition !== undefined && isTakeCondition) return notCondition(untilCondition);
  return condition;
}

/** A greedy stage keeps an event the next stage could also take: the next stage's transitions refuse it. */
function updateWithGreedyCondition<T>(state: NfaNode<T>, takeCondition: ConditionFunction<T>): void {
  for (const transition of state.transitions) transition.condition = andCondition(transition.condition ?? trueCondition, notCondition(takeCondition));
}
