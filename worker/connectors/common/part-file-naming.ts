// How the exactly-once file sinks (local JSON Lines, S3 files) name their part files,
// `<prefix>-<subtask>-<index>.<extension>`, and pick the index a writer opens next.
//
// An index never repeats within a subtask: a writer starts after the highest index in its
// restored state and after every part of its subtask that exists already. The scan is what keeps
// a restored job off the names of parts committed after the checkpoint it restores from, a new
// subtask off the names of an earlier run, and a rescaled job off the names of the old subtask
// with the same index.

import type { SinkWriterContext } from '../../../shared/api/connectors.ts';
import { RestoreError } from '../../../shared/errors.ts';

/** The subtask that wrote a part, and the part's number within that subtask. */
export interface PartId {
  readonly subtask: number;
  readonly index: number;
}

/** What a part-file writer snapshots: the index it opens next. */
export interface PartIndexState {
  readonly nextPartIndex: number;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

/** The names `<prefix>-<subtask>-<index>.<extension>`, and their parsing. */
export class PartFileNaming {
  private readonly pattern: RegExp;

  constructor(readonly prefix: string, readonly extension: string) {
    this.pattern = new RegExp(`(?:^|/)${escapeRegExp(prefix)}-(\\d+)-(\\d+)\\.${escapeRegExp(extension)}$`);
  }

  fileName(subtask: number, index: number): string {
    return `${this.prefix}-${subtask}-${index}.${this.extension}`;
  }

  /** The part a file name (or the last segment of a `/`-separated key) names; undefined for any other name. */
  parse(nameOrKey: string): PartId | undefined {
    const match = this.pattern.exec(nameOrKey);
    return match ? { subtask: Number(match[1]), index: Number(match[2]) } : undefined;
  }
}

/** The index `subtask` opens next: `after`, or past the highest index of its parts in `existing`. */
export function nextFreePartIndex(subtask: number, after: number, existing: Iterable<PartId | undefined>): number {
  let next = after;
  for (const part of existing) {
    if (part && part.subtask === subtask && part.index >= next) next = part.index + 1;
  }
  return next;
}

/**
 * The highest `nextPartIndex` of the restored writer states (one, or a list after rescaling);
 * 0 for none. `sinkName` starts the error for a state without a valid one.
 */
export function restoredNextPartIndex(restoredState: unknown, sinkName: string): number {
  if (restoredState === undefined) return 0;
  const states = Array.isArray(restoredState) ? restoredState : [restoredState];
  let next = 0;
  for (const state of states) {
    if (state === undefined || state === null) continue;
    const index = (state as Partial<PartIndexState>).nextPartIndex;
    if (!Number.isSafeInteger(index) || index! < 0) {
      throw new RestoreError(`${sinkName}: restored writer state ${JSON.stringify(state)} has no valid nextPartIndex (a non-negative integer)`);
    }
    next = Math.max(next, index!);
  }
  return next;
}

/**
 * Whether this subtask cleans up after `part`'s writer: it owns the parts of its own index and,
 * after a scale-down, those of the old subtasks whose state it receives (old index j with
 * j % parallelism == its index).
 */
export function ownsLeftoverPart(context: Pick<SinkWriterContext, 'subtaskIndex' | 'parallelism'>, part: PartId): boolean {
  return part.subtask % context.parallelism === context.subtaskIndex;
}
