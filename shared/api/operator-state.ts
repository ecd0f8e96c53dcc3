// Operator state for user functions, as Flink's CheckpointedFunction: list state that belongs to
// a function instance (one subtask), not to a key. At every checkpoint `snapshotState` is called
// and the lists are stored; on restore `initializeState` finds them again, redistributed when the
// parallelism changed: `getListState` splits every old subtask's elements evenly over the new
// subtasks, `getUnionListState` gives every subtask all of them. Custom sources and sinks, and any
// function that buffers, keep what they hold this way.
//
//   class Buffering implements ProcessFunction<Ev, Ev[]>, CheckpointedFunction {
//     private buffer: Ev[] = [];
//     private state!: ListState<Ev>;
//     initializeState(context) {
//       this.state = context.getOperatorStateStore().getListState(new ListStateDescriptor<Ev>('buffer'));
//       if (context.isRestored()) this.buffer = [...this.state.get()];
//     }
//     snapshotState() { this.state.update(this.buffer); }
//     processElement(ev, _ctx, out) { … }
//   }

import type { ListState, ListStateDescriptor } from './state.ts';

export interface FunctionSnapshotContext {
  readonly checkpointId: number;
}

export interface OperatorStateStore {
  /** Even-split redistribution: on restore at another parallelism, the old elements are dealt out in contiguous shares. */
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  /** Union redistribution: on restore every subtask gets every old subtask's elements. */
  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
}

export interface FunctionInitializationContext {
  /** Whether this start restores a checkpoint or snapshot (the lists then hold what it kept). */
  isRestored(): boolean;
  getOperatorStateStore(): OperatorStateStore;
}

/** Implemented by a function object that keeps operator state; the runtime calls it. */
export interface CheckpointedFunction {
  /** Before open(), on every start: register the lists and read what a restore brought. */
  initializeState(context: FunctionInitializationContext): void;
  /** At every checkpoint, before its state is taken: write what the function holds into its lists. */
  snapshotState(context: FunctionSnapshotContext): void;
}

/** Whether a function object keeps operator state. */
export function isCheckpointedFunction(fn: unknown): fn is CheckpointedFunction {
  return typeof fn === 'object' && fn !== null && typeof (fn as CheckpointedFunction).initializeState === 'function' && typeof (fn as CheckpointedFunction).snapshotState === 'function';
}
