// The two connectors the API itself needs: a bounded in-memory collection source
// (fromElements/fromCollection) and the console sink behind print().

import type { PollStatus, Sink, SinkWriter, Source, SourceOutput, SourceReader, SplitState } from './connectors.ts';

export class CollectionSource<T> implements Source<T> {
  readonly name = 'Collection';
  readonly bounded = true;
  constructor(private readonly values: readonly T[]) {}

  discoverSplits(): SplitState[] {
    return [{ id: 'collection', position: 0 }];
  }

  createReader(): SourceReader<T> {
    const values = this.values;
    let split: { id: string; next: number } | undefined;
    return {
      addSplits(splits) {
        for (const s of splits) split = { id: s.id, next: Number(s.position) };
      },
      poll(output: SourceOutput<T>, maxRecords: number): PollStatus {
        if (!split) return 'end';
        const end = Math.min(values.length, split.next + maxRecords);
        for (let i = split.next; i < end; i++) output.collect(values[i] as T, 0);
        split.next = end;
        return end >= values.length ? 'end' : 'more';
      },
      snapshotSplits() {
        return split ? [{ id: split.id, position: split.next }] : [];
      },
      close() {},
    };
  }
}

/** Prints each record as a line (`prefix> record`); at-least-once, nothing to commit. */
export class ConsoleSink<T> implements Sink<T> {
  readonly name = 'Console';
  constructor(private readonly prefix?: string) {}

  createWriter(context: { subtaskIndex: number; parallelism: number }): SinkWriter<T> {
    const label = [this.prefix, context.parallelism > 1 ? String(context.subtaskIndex + 1) : undefined].filter(Boolean).join(':');
    const lead = label ? `${label}> ` : '';
    let pending: string[] = [];
    const flush = () => {
      if (pending.length > 0) process.stdout.write(pending.join(''));
      pending = [];
    };
    return {
      write(value: T) {
        pending.push(lead + (typeof value === 'string' ? value : JSON.stringify(value)) + '\n');
        if (pending.length >= 256) flush();
      },
      prepareCommit() {
        flush();
        return undefined;
      },
      async commit() {},
      close() {
        flush();
      },
    };
  }
}
