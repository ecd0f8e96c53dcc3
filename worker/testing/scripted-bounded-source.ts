// A bounded source that replays a fixed list of records, in order, from one split, a few
// records per poll. Tests that compare the engine against a model use it so the engine sees
// exactly the sequence the model replays (and, with interval-0 watermarks, the same watermarks).

import type { PollStatus, Source, SourceOutput, SourceReader, SplitState } from '../../shared/api/connectors.ts';

export class ScriptedBoundedSource<T> implements Source<T> {
  readonly name = 'Scripted';
  readonly bounded = true;

  /**
   * @param records replayed in this order
   * @param recordsPerPoll at most this many records per poll (the runtime's own limit also applies)
   * @param timestampOf the record's own timestamp handed to the timestamp assigner, if any
   */
  constructor(
    private readonly records: readonly T[],
    private readonly recordsPerPoll = 7,
    private readonly timestampOf?: (record: T) => number,
  ) {
    if (!Number.isInteger(recordsPerPoll) || recordsPerPoll < 1) throw new RangeError(`recordsPerPoll must be a positive integer, got ${recordsPerPoll}`);
  }

  discoverSplits(): SplitState[] {
    return [{ id: 'script', position: 0 }];
  }

  createReader(): SourceReader<T> {
    const { records, recordsPerPoll, timestampOf } = this;
    let split: { id: string; next: number } | undefined;
    return {
      addSplits(splits) {
        for (const s of splits) split = { id: s.id, next: Number(s.position) };
      },
      poll(output: SourceOutput<T>, maxRecords: number): PollStatus {
        if (!split) return 'end';
        const end = Math.min(records.length, split.next + Math.min(recordsPerPoll, maxRecords));
        for (let i = split.next; i < end; i++) {
          const record = records[i] as T;
          if (timestampOf) output.collect(record, 0, timestampOf(record));
          else output.collect(record, 0);
        }
        split.next = end;
        return end >= records.length ? 'end' : 'more';
      },
      snapshotSplits() {
        return split ? [{ id: split.id, position: split.next }] : [];
      },
      close() {},
    };
  }
}
