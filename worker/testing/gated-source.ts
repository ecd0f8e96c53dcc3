// A source whose records a test releases a few at a time: 'wait' while nothing is released, the
// end only once the test says so, and an optional failure injected before a given record. Its
// split position is the index of the next record, so checkpoints and restores work as with a
// real source.

import type { PollStatus, Source, SourceOutput, SourceReader, SplitState } from '../../shared/api/connectors.ts';

export class GatedSource<T> implements Source<T> {
  readonly name = 'Gated';
  /** Unbounded until `releaseAllAndEnd`. */
  readonly bounded = false;
  private released = 0;
  private ended = false;
  /** Throws when about to emit the record at this index: a crash in the middle of a job. */
  failAt: number | undefined;

  constructor(private readonly values: readonly T[]) {}

  release(n: number): void {
    this.released = Math.min(this.values.length, this.released + n);
  }

  releaseAllAndEnd(): void {
    this.released = this.values.length;
    this.ended = true;
  }

  discoverSplits(): SplitState[] {
    return [{ id: 'gated', position: 0 }];
  }

  createReader(): SourceReader<T> {
    let next = 0;
    let assigned = false;
    return {
      waitHintMs: 1,
      addSplits: (splits) => {
        for (const s of splits) {
          next = Number(s.position);
          assigned = true;
        }
      },
      poll: (output: SourceOutput<T>, maxRecords: number): PollStatus => {
        if (!assigned) return 'end';
        let emitted = 0;
        while (emitted < maxRecords && next < this.released) {
          if (this.failAt === next) throw new Error(`injected failure before record ${next}`);
          output.collect(this.values[next]!, 0);
          next++;
          emitted++;
        }
        if (this.ended && next >= this.values.length) return 'end';
        return emitted > 0 ? 'more' : 'wait';
      },
      snapshotSplits: () => (assigned ? [{ id: 'gated', position: next }] : []),
      close: () => {},
    };
  }
}
