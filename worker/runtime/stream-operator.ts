// The base of every operator instance (one operator, one subtask): lifecycle, watermark and
// timer handling, keyed context and state handles, and snapshot/restore of keyed state, timers
// and operator state. Subclasses implement processElement (and processElement2 for two inputs).

import { isCheckpointedFunction } from '../../shared/api/operator-state.ts';
import { OperatorListStates, type OperatorListStatesSnapshot } from './operator-list-states.ts';
import type { MetricGroup } from '../../shared/api/metrics.ts';
import { UserMetricRegistry } from '../../shared/metrics/user-metrics.ts';
import type { ApplicationProperties } from '../../shared/api/environment.ts';
import type { KeySelector, RuntimeContext, TimerService } from '../../shared/api/functions.ts';
import type { StateDescriptor } from '../../shared/api/state.ts';
import { MIN_WATERMARK } from '../../shared/api/time.ts';
import type { Clock } from '../../shared/clock.ts';
import { InvalidPipelineError, RestoreError, SluiceError } from '../../shared/errors.ts';
import { assignToKeyGroup, type KeyGroupRange } from '../../shared/key-groups.ts';
import { mergeKeyGroups, type KeyedStateBackend, type KeyedStateSnapshot, type Namespace, type StateEntry, type StateKey } from '../state/keyed-state-backend.ts';
import type { OperatorSnapshot } from '../../shared/checkpoint/operator-snapshot.ts';
import { createStateHandle, type AnyStateHandle } from './keyed-state-handles.ts';
import { stateTtlPolicy } from '../state/state-ttl.ts';
import type { Output, OperatorInput } from './output.ts';
import { TimerQueue, type Timer } from './timer-service.ts';

// An operator's snapshot is the checkpoint format (shared/checkpoint/): re-exported for the runtime.
export { hasState, type OperatorSnapshot } from '../../shared/checkpoint/operator-snapshot.ts';

const EVENT_TIMERS = '__timers_event';
const PROCESSING_TIMERS = '__timers_processing';

export interface OperatorMetrics {
  numLateRecordsDropped: number;
}

export interface OperatorSetup {
  readonly uid: string;
  readonly name: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly properties: ApplicationProperties;
  readonly clock: Clock;
  /** The operator's metrics (user functions' getMetricGroup); absent: kept but not exported. */
  readonly metricGroup?: MetricGroup;
  /** Wakes the task's run loop when work arrives off its turn (an async I/O answer). */
  readonly wakeUp?: () => void;
  readonly output: Output;
  /** Present for keyed operators. */
  readonly keyed?: {
    readonly backend: KeyedStateBackend;
    readonly keySelectors: ReadonlyArray<KeySelector<any, any> | undefined>;
  };
}

/**
 * An operator with work off the task's turn (async I/O). Its task finds it once, when it is
 * built, and asks it before taking input and before ending; other operators are never asked.
 */
export interface OperatorWithPendingWork {
  /** Work still to come after all input has ended: the task waits for it, calling fireProcessingTimers, before it ends its operators' input. */
  hasPendingWork(): boolean;
  /** The task takes no more input for now (at capacity). */
  isInputBlocked(): boolean;
}

export function holdsPendingWork(operator: AbstractStreamOperator): operator is AbstractStreamOperator & OperatorWithPendingWork {
  return typeof (operator as Partial<OperatorWithPendingWork>).hasPendingWork === 'function';
}

export abstract class AbstractStreamOperator implements OperatorInput {
  protected output!: Output;
  protected setupInfo!: OperatorSetup;
  protected currentWatermark = MIN_WATERMARK;
  protected backend: KeyedStateBackend | undefined;

  /** Whether it keeps keyed state (a keyed operator). */
  get hasKeyedState(): boolean {
    return this.backend !== undefined;
  }
  protected keySelector0: KeySelector<any, any> | undefined;
  protected keySelector1: KeySelector<any, any> | undefined;
  private eventTimers: TimerQueue | undefined;
  private processingTimers: TimerQueue | undefined;
  private readonly stateHandles = new Map<string, AnyStateHandle>();
  readonly metrics: OperatorMetrics = { numLateRecordsDropped: 0 };
  /** The timestamp of the record being processed, for process-function contexts. */
  protected currentTimestamp = Number.NEGATIVE_INFINITY;

  setup(setup: OperatorSetup): void {
    this.setupInfo = setup;
    this.output = setup.output;
    if (setup.keyed) {
      this.backend = setup.keyed.backend;
      this.keySelector0 = setup.keyed.keySelectors[0];
      this.keySelector1 = setup.keyed.keySelectors[1];
      this.eventTimers = new TimerQueue();
      this.processingTimers = new TimerQueue();
    }
  }

  get uid(): string {
    return this.setupInfo.uid;
  }

  get name(): string {
    return this.setupInfo.name;
  }

  /** Called once after setup and restore, before the first record. */
  open(): void | Promise<void> {}

  abstract processElement(value: unknown, timestamp: number): void;

  processElement2(_value: unknown, _timestamp: number): void {
    throw new SluiceError(`operator ${this.name} has one input`);
  }

  processWatermark(watermark: number): void {
    if (watermark <= this.currentWatermark) return;
    this.currentWatermark = watermark;
    const timers = this.eventTimers;
    if (timers) {
      for (let timer = timers.pollDue(watermark); timer !== undefined; timer = timers.pollDue(watermark)) {
        this.backend!.setCurrentKey(timer.key, timer.keyGroup);
        this.onEventTime(timer);
      }
    }
    this.output.emitWatermark(watermark);
  }

  processIdle(idle: boolean): void {
    this.output.emitIdle(idle);
  }

  /** The next processing-time timer's due time, or +Infinity. */
  nextProcessingTimerMs(): number {
    return this.processingTimers ? this.processingTimers.peekTimestamp() : Number.POSITIVE_INFINITY;
  }

  /** Fires processing-time timers due at `nowMs`. */
  fireProcessingTimers(nowMs: number): void {
    const timers = this.processingTimers;
    if (!timers) return;
    for (let timer = timers.pollDue(nowMs); timer !== undefined; timer = timers.pollDue(nowMs)) {
      this.backend!.setCurrentKey(timer.key, timer.keyGroup);
      this.onProcessingTime(timer);
    }
  }

  protected onEventTime(_timer: Timer): void {}
  protected onProcessingTime(_timer: Timer): void {}

  /** All input has ended (after the final watermark). */
  endInput(): void | Promise<void> {}

  async snapshotState(checkpointId: number): Promise<OperatorSnapshot> {
    // The user function's operator state, captured now (before any await), as the keyed state is.
    const functionState = this.snapshotFunctionState(checkpointId);
    const operatorState = functionState === undefined ? {} : { operatorState: functionState };
    if (!this.backend) return operatorState;
    if (this.backend.snapshotByKeyGroup) {
      // Captured now, like the timers; read key group by key group while the upload goes on.
      const timers = this.timerSnapshot();
      const keyedReader = this.backend.snapshotByKeyGroup(checkpointId);
      return { keyed: { maxParallelism: this.backend.maxParallelism, keyGroups: timers }, keyedReader, ...operatorState };
    }
    return { keyed: await this.snapshotKeyed(), ...operatorState };
  }

  /** The user function the operator runs, when it is an object that may keep operator state (CheckpointedFunction). */
  protected userFunction(): unknown {
    return undefined;
  }

  private functionListStates: OperatorListStates | undefined;

  /**
   * Before open(), on every start: a CheckpointedFunction registers its lists and finds this
   * subtask's share of the restored ones (restoreState took them first).
   */
  initializeState(): void {
    const fn = this.userFunction();
    if (!isCheckpointedFunction(fn)) return;
    this.functionListStates ??= new OperatorListStates(this.name);
    this.functionListStates.initialize(fn, this.setupInfo.subtaskIndex, this.setupInfo.parallelism);
  }

  private snapshotFunctionState(checkpointId: number): OperatorListStatesSnapshot | undefined {
    const fn = this.userFunction();
    if (!isCheckpointedFunction(fn) || this.functionListStates === undefined) return undefined;
    fn.snapshotState({ checkpointId });
    return this.functionListStates.snapshot();
  }

  /**
   * Restores from the snapshots of every old subtask whose state may overlap this one: the key
   * groups of the backend's current range. Also adds key groups to a running operator (live
   * rescaling, after setKeyGroupRange): the backend then refuses a key group it holds state in,
   * and this refuses one that has timers here (RestoreError naming it), so nothing is merged;
   * the restored timers are registered once the backend has taken the state.
   */
  async restoreState(snapshots: readonly OperatorSnapshot[]): Promise<void> {
    if (isCheckpointedFunction(this.userFunction())) (this.functionListStates ??= new OperatorListStates(this.name)).restore(snapshots);
    const keyed = snapshots.flatMap((s) => (s.keyed ? [s.keyed] : []));
    if (keyed.length === 0) return;
    if (!this.backend) throw new SluiceError(`operator ${this.name} has keyed state in the snapshot but is not keyed`);
    const range = this.backend.keyGroupRange;
    const plain: KeyedStateSnapshot[] = [];
    const timers: Array<{ queue: TimerQueue; timestamp: number; key: StateKey; keyGroup: number; namespace: Namespace }> = [];
    for (const snapshot of keyed) {
      const keyGroups = [];
      for (const group of snapshot.keyGroups) {
        if (!range.contains(group.keyGroup)) continue;
        const entries: StateEntry[] = [];
        for (const entry of group.entries) {
          const queue = entry[0] === EVENT_TIMERS ? this.eventTimers! : entry[0] === PROCESSING_TIMERS ? this.processingTimers! : undefined;
          if (queue === undefined) entries.push(entry);
          else timers.push({ queue, timestamp: entry[3] as number, key: entry[1], keyGroup: group.keyGroup, namespace: entry[2] });
        }
        // Raw pairs hold the backend's own state only (timers are entries): the backend takes them.
        keyGroups.push({ keyGroup: group.keyGroup, entries, ...(group.rawPairs === undefined ? {} : { rawPairs: group.rawPairs }) });
      }
      plain.push({ maxParallelism: snapshot.maxParallelism, keyGroups });
    }
    if (timers.length > 0) {
      const withTimers = new Set([...this.eventTimers!.keyGroups(), ...this.processingTimers!.keyGroups()]);
      for (const { keyGroup } of timers) {
        if (withTimers.has(keyGroup)) {
          throw new RestoreError(`operator ${this.name}: key group ${keyGroup} already has timers here: a restore adds key groups, it never merges into one`);
        }
      }
    }
    await this.backend.restore(plain);
    for (const { queue, timestamp, key, keyGroup, namespace } of timers) queue.register(timestamp, key, keyGroup, namespace);
  }

  /**
   * Live rescaling: from now on this operator holds the key groups of `range` only. The timers
   * and the backend's state of the key groups outside it are dropped (a checkpoint taken before
   * holds them, and another subtask takes them over); key groups it gains start empty until
   * restoreState adds them.
   */
  async setKeyGroupRange(range: KeyGroupRange): Promise<void> {
    const backend = this.requireKeyed('a key-group range');
    if (!range.isEmpty && range.endKeyGroup >= backend.maxParallelism) {
      throw new SluiceError(`operator ${this.name}: ${range} reaches beyond maxParallelism ${backend.maxParallelism}`);
    }
    // Before the backend's await: no timer of a dropped key group may fire meanwhile.
    this.eventTimers!.removeOutside(range);
    this.processingTimers!.removeOutside(range);
    await backend.setKeyGroupRange(range);
  }

  /** The key group of an input record of a keyed operator (its input's key selector), or undefined for a non-keyed one. */
  keyGroupOf(value: unknown, input: 0 | 1): number | undefined {
    const selector = input === 0 ? this.keySelector0 : this.keySelector1;
    if (this.backend === undefined || selector === undefined) return undefined;
    return assignToKeyGroup(selector(value), this.setupInfo.maxParallelism);
  }

  notifyCheckpointComplete(checkpointId: number): void | Promise<void> {
    this.backend?.confirmSnapshot?.(checkpointId);
  }

  close(): void | Promise<void> {}

  // ---- keyed context -------------------------------------------------------------------

  /** Sets the key of `value` (read with the input's key selector) as the current key. */
  protected setKeyContext(value: unknown, input: 0 | 1): StateKey {
    const selector = input === 0 ? this.keySelector0 : this.keySelector1;
    const key = selector!(value) as StateKey;
    const keyGroup = assignToKeyGroup(key, this.setupInfo.maxParallelism);
    this.backend!.setCurrentKey(key, keyGroup);
    return key;
  }

  protected registerEventTimeTimer(timestamp: number, namespace: Namespace): void {
    const backend = this.requireKeyed('event-time timers');
    this.eventTimers!.register(timestamp, backend.getCurrentKey(), backend.getCurrentKeyGroup(), namespace);
  }

  protected deleteEventTimeTimer(timestamp: number, namespace: Namespace): void {
    const backend = this.requireKeyed('event-time timers');
    this.eventTimers!.delete(timestamp, backend.getCurrentKey(), namespace);
  }

  protected registerProcessingTimeTimer(timestamp: number, namespace: Namespace): void {
    const backend = this.requireKeyed('processing-time timers');
    this.processingTimers!.register(timestamp, backend.getCurrentKey(), backend.getCurrentKeyGroup(), namespace);
  }

  protected deleteProcessingTimeTimer(timestamp: number, namespace: Namespace): void {
    const backend = this.requireKeyed('processing-time timers');
    this.processingTimers!.delete(timestamp, backend.getCurrentKey(), namespace);
  }

  protected requireKeyed(what: string): KeyedStateBackend {
    if (!this.backend) {
      throw new InvalidPipelineError(`${this.name}: ${what} can only be used on a keyed stream; call keyBy(...) before this operator`);
    }
    return this.backend;
  }

  /** A timer service for user functions, bound to namespace VOID. */
  protected userTimerService(): TimerService {
    return {
      currentProcessingTime: () => this.setupInfo.clock.now(),
      currentWatermark: () => this.currentWatermark,
      registerEventTimeTimer: (t) => this.registerEventTimeTimer(t, 0),
      registerProcessingTimeTimer: (t) => this.registerProcessingTimeTimer(t, 0),
      deleteEventTimeTimer: (t) => this.deleteEventTimeTimer(t, 0),
      deleteProcessingTimeTimer: (t) => this.deleteProcessingTimeTimer(t, 0),
    };
  }

  /** A state handle of descriptor's kind; one per state name, so repeated calls share it. */
  protected getStateHandle(descriptor: StateDescriptor): AnyStateHandle {
    const backend = this.requireKeyed(`keyed state ("${descriptor.name}")`);
    const existing = this.stateHandles.get(descriptor.name);
    if (existing) return existing;
    const ttlConfig = descriptor.ttlConfig;
    const ttl = ttlConfig === undefined ? undefined : stateTtlPolicy(descriptor, ttlConfig, this.setupInfo.clock);
    const handle = createStateHandle(descriptor, backend.getTable(descriptor.name, ttl), ttl);
    this.stateHandles.set(descriptor.name, handle);
    return handle;
  }

  private detachedMetrics: MetricGroup | undefined;

  protected runtimeContext(): RuntimeContext {
    const s = this.setupInfo;
    return {
      operatorName: s.name,
      operatorUid: s.uid,
      indexOfThisSubtask: s.subtaskIndex,
      numberOfParallelSubtasks: s.parallelism,
      maxNumberOfParallelSubtasks: s.maxParallelism,
      properties: s.properties,
      getMetricGroup: () => (this.detachedMetrics ??= s.metricGroup ?? new UserMetricRegistry().operatorGroup({})),
      getState: (d) => this.getStateHandle(d) as any,
      getListState: (d) => this.getStateHandle(d) as any,
      getMapState: (d) => this.getStateHandle(d) as any,
      getReducingState: (d) => this.getStateHandle(d) as any,
      getAggregatingState: (d) => this.getStateHandle(d) as any,
    };
  }

  /** The timers, by key group, as state entries. */
  private timerSnapshot(): Array<{ keyGroup: number; entries: StateEntry[] }> {
    const byGroup = new Map<number, StateEntry[]>();
    for (const { keyGroup, entry } of [...this.eventTimers!.snapshot(EVENT_TIMERS), ...this.processingTimers!.snapshot(PROCESSING_TIMERS)]) {
      let entries = byGroup.get(keyGroup);
      if (!entries) byGroup.set(keyGroup, (entries = []));
      entries.push(entry);
    }
    return [...byGroup.entries()].sort((a, b) => a[0] - b[0]).map(([keyGroup, entries]) => ({ keyGroup, entries }));
  }

  private async snapshotKeyed(): Promise<KeyedStateSnapshot> {
    // Timers are captured now, synchronously, like the backend's state.
    const timers = this.timerSnapshot();
    const state = await this.backend!.snapshot();
    if (timers.length === 0) return state;
    return { maxParallelism: state.maxParallelism, keyGroups: mergeKeyGroups([...state.keyGroups, ...timers]) };
  }
}
