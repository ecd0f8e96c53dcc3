// The source of the window differential test's restore and processing-time cases: it replays a
// fixed list of records from one split like ScriptedBoundedSource, and can also stop the job
// before a record (with a checkpoint: `onPause` calls the executor's stop), fail before a record
// (a crash), and drive a manual clock as processing time: before each record it moves the clock
// to the record's arrival time and returns, so the executor fires the timers due by then before
// the record is processed; after the last record it moves the clock once more, far ahead.

import type { PollStatus, Source, SourceOutput, SourceReader, SplitState } from '../../shared/api/connectors.ts';
import type { ManualClock } from '../../shared/clock.ts';

export interface DifferentialSourceOptions {
  /** Records per poll (event-time cases); processing-time cases emit one record per poll. */
  readonly recordsPerPoll: number;
  /** Calls `onPause` instead of emitting this record (once), and then emits nothing. */
  readonly pauseAt?: number;
  readonly onPause?: () => void;
  /** Throws instead of emitting this record: a crash. */
  readonly failAt?: number;
  /** Processing time: the clock, each record's arrival time, and where the clock goes at the end. */
  readonly processingTime?: { readonly clock: ManualClock; readonly arrivals: readonly number[]; readonly finalMs: number };
}

export class DifferentialSource<T> implements Source<T> {
  readonly name = 'Differential';
  readonly bounded = true;

  constructor(
    private readonly records: readonly T[],
    private readonly options: DifferentialSourceOptions,
  ) {}

  discoverSplits(): SplitState[] {
    return [{ id: 'script', position: 0 }];
  }

  createReader(): SourceReader<T> {
    const { records, options } = this;
    let next: number | undefined;
    let paused = false;
    let clockMovedFor = -1;
    return {
      addSplits(splits) {
        for (const s of splits) next = Number(s.position);
      },
      poll(output: SourceOutput<T>, maxRecords: number): PollStatus {
        if (next === undefined) return 'end';
        if (paused) return 'more';
        const time = options.processingTime;
        if (next >= records.length) {
          if (time === undefined || clockMovedFor === records.length) return 'end';
          time.clock.advanceTo(time.finalMs);
          clockMovedFor = records.length;
          return 'more';
        }
        const limit = time ? 1 : Math.min(options.recordsPerPoll, maxRecords);
        for (let emitted = 0; emitted < limit && next < records.length; emitted++) {
          if (next === options.pauseAt) {
            paused = true;
            options.onPause?.();
            return 'more';
          }
          if (time && clockMovedFor !== next) {
            time.clock.advanceTo(time.arrivals[next]!);
            clockMovedFor = next;
            return 'more'; // the executor fires the timers due now before the record comes
          }
          if (next === options.failAt) throw new Error(`injected failure before record ${next}`);
          output.collect(records[next]!, 0);
          next++;
        }
        return 'more';
      },
      snapshotSplits() {
        return next === undefined ? [] : [{ id: 'script', position: next }];
      },
      close() {},
    };
  }
}
