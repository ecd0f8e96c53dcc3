// The operator state of one function instance (shared/api/operator-state.ts): its named lists,
// what a snapshot keeps of them, and their redistribution on restore — even split (each list's
// elements over all old subtasks, in old-subtask order, dealt out in contiguous shares) or union
// (all of them to every subtask).

import type { ListState, ListStateDescriptor } from '../../shared/api/state.ts';
import type { CheckpointedFunction, FunctionInitializationContext } from '../../shared/api/operator-state.ts';
import { RestoreError, SluiceError } from '../../shared/errors.ts';

type Mode = 'split' | 'union';

/** What a checkpoint keeps: each list with how it is redistributed. JSON. */
export interface OperatorListStatesSnapshot {
  readonly lists: Readonly<Record<string, { readonly mode: Mode; readonly elements: readonly unknown[] }>>;
}

/** The old subtasks' lists, merged per name, before this subtask takes its share. */
interface RestoredList {
  readonly mode: Mode;
  readonly elements: unknown[];
}

export class OperatorListStates {
  private readonly lists = new Map<string, { mode: Mode; elements: unknown[] }>();
  private restored: Map<string, RestoredList> | undefined;

  constructor(private readonly operatorName: string) {}

  /** Takes the lists of every old subtask's snapshot (any that has them), for initialize. */
  restore(snapshots: ReadonlyArray<{ readonly operatorState?: unknown }>): void {
    const merged = new Map<string, RestoredList>();
    for (const snapshot of snapshots) {
      const lists = (snapshot.operatorState as Partial<OperatorListStatesSnapshot> | undefined)?.lists;
      if (lists === undefined) continue;
      for (const [name, list] of Object.entries(lists)) {
        const known = merged.get(name);
        if (known !== undefined && known.mode !== list.mode) throw new RestoreError(`operator ${this.operatorName}: list state "${name}" is kept as ${known.mode} and as ${list.mode} in the checkpoint`);
        if (known === undefined) merged.set(name, { mode: list.mode, elements: [...list.elements] });
        else known.elements.push(...list.elements);
      }
    }
    this.restored = merged;
  }

  /** Calls the function's initializeState with this subtask's share of what was restored. */
  initialize(fn: CheckpointedFunction, subtaskIndex: number, parallelism: number): void {
    const restored = this.restored;
    const store = (mode: Mode) => <T>(descriptor: ListStateDescriptor<T>): ListState<T> => this.register(descriptor.name, mode, restored, subtaskIndex, parallelism) as ListState<T>;
    const context: FunctionInitializationContext = {
      isRestored: () => restored !== undefined,
      getOperatorStateStore: () => ({ getListState: store('split'), getUnionListState: store('union') }),
    };
    fn.initializeState(context);
  }

  /** The lists as they are now (copied: the function may change its elements after the barrier). */
  snapshot(): OperatorListStatesSnapshot | undefined {
    if (this.lists.size === 0) return undefined;
    const lists: Record<string, { mode: Mode; elements: unknown[] }> = {};
    for (const [name, { mode, elements }] of this.lists) lists[name] = { mode, elements: structuredClone(elements) };
    return { lists };
  }

  private register(name: string, mode: Mode, restored: Map<string, RestoredList> | undefined, subtaskIndex: number, parallelism: number): ListState<unknown> {
    const existing = this.lists.get(name);
    if (existing !== undefined) {
      if (existing.mode !== mode) throw new SluiceError(`operator ${this.operatorName}: list state "${name}" is registered as ${existing.mode === 'union' ? 'union' : 'split'} list state already`);
      return listStateOver(existing);
    }
    const old = restored?.get(name);
    if (old !== undefined && old.mode !== mode) {
      throw new RestoreError(`operator ${this.operatorName}: list state "${name}" was kept as ${old.mode === 'union' ? 'union' : 'split'} list state; read it with the same kind (getUnionListState or getListState)`);
    }
    let elements: unknown[] = [];
    if (old !== undefined) {
      if (mode === 'union') elements = structuredClone(old.elements);
      else {
        const from = Math.floor((subtaskIndex * old.elements.length) / parallelism);
        const to = Math.floor(((subtaskIndex + 1) * old.elements.length) / parallelism);
        elements = old.elements.slice(from, to);
      }
    }
    const list = { mode, elements };
    this.lists.set(name, list);
    return listStateOver(list);
  }
}

function listStateOver(list: { elements: unknown[] }): ListState<unknown> {
  return {
    get: () => list.elements,
    add: (value) => void list.elements.push(value),
    addAll: (values) => void list.elements.push(...values),
    update: (values) => void (list.elements = [...values]),
    clear: () => void (list.elements = []),
  };
}
