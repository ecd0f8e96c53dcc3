// A sink that collects records in memory, two-phase like a real one: what a checkpoint
// pre-committed becomes visible in `committed` only when the checkpoint completes. For tests and
// for embedding Sluice in a program that wants the results as values.

import type { Sink, SinkWriter } from '../../shared/api/connectors.ts';

export interface CollectedRecord<T> {
  readonly value: T;
  readonly timestamp: number;
}

export class CollectSink<T> implements Sink<T> {
  readonly name: string;
  /** Committed records, in commit order. */
  readonly committed: Array<CollectedRecord<T>> = [];
  private readonly committedBatches = new Set<string>();
  private readonly staged = new Map<string, Array<CollectedRecord<T>>>();
  private batchSequence = 0;

  constructor(name = 'Collect') {
    this.name = name;
  }

  get values(): T[] {
    return this.committed.map((r) => r.value);
  }

  createWriter(context: { subtaskIndex: number }): SinkWriter<T> {
    let buffer: Array<CollectedRecord<T>> = [];
    return {
      write: (value: T, timestamp: number) => {
        buffer.push({ value, timestamp });
      },
      prepareCommit: (checkpointId: number) => {
        if (buffer.length === 0) return undefined;
        const id = `${context.subtaskIndex}/${checkpointId}/${this.batchSequence++}`;
        this.staged.set(id, buffer);
        buffer = [];
        return id;
      },
      commit: async (committables: readonly unknown[]) => {
        for (const id of committables as string[]) {
          if (this.committedBatches.has(id)) continue; // idempotent
          const records = this.staged.get(id);
          if (!records) throw new Error(`CollectSink: unknown committable ${id}`);
          this.committedBatches.add(id);
          this.staged.delete(id);
          this.committed.push(...records);
        }
      },
      close: () => {},
    };
  }
}
