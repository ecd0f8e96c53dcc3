// What the FileSource tests share: an output that records everything a reader hands over, a
// loop that reads a bounded reader to its end, one that polls an unbounded reader until
// something observable happens, Parquet test files, and the lost/doubled count of a run.

import assert from 'node:assert/strict';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { PollStatus, Source, SourceOutput, SourceReader, SplitState } from '../../../shared/api/connectors.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

export interface Letter {
  readonly raw: string;
  readonly reason: string;
  readonly position: string;
}

export class RecordingOutput<T> implements SourceOutput<T> {
  readonly values: T[] = [];
  readonly splitOf: number[] = [];
  readonly letters: Letter[] = [];
  readonly finished: number[] = [];
  collect(value: T, splitIndex: number): void {
    this.values.push(value);
    this.splitOf.push(splitIndex);
  }
  deadLetter(raw: string, reason: string, position: string): void {
    this.letters.push({ raw, reason, position });
  }
  finishSplit(splitIndex: number): void {
    this.finished.push(splitIndex);
  }
}

export function readerContext(now: () => number = () => 0, subtaskIndex = 0, parallelism = 1) {
  return { subtaskIndex, parallelism, now };
}

/** Reads a bounded source (its discovered splits, or `splits`) to the end. */
export async function readAll<T>(source: Source<T>, options: { splits?: readonly SplitState[]; maxRecords?: number } = {}): Promise<RecordingOutput<T>> {
  const reader = source.createReader(readerContext());
  await reader.addSplits(options.splits ?? (await source.discoverSplits({ parallelism: 1 })));
  const output = new RecordingOutput<T>();
  try {
    for (let polls = 0; ; polls++) {
      assert.ok(polls < 1_000_000, 'the reader never ended');
      if ((await reader.poll(output, options.maxRecords ?? 1024)) === 'end') break;
    }
  } finally {
    await reader.close();
  }
  return output;
}

/** Reads with budget 1, snapshotting after every poll: each snapshot with what had been emitted by then. */
export async function snapshotsWhileReading<T>(
  source: Source<T>,
): Promise<{ output: RecordingOutput<T>; snapshots: Array<{ splits: SplitState[]; values: number; letters: number }> }> {
  const reader = source.createReader(readerContext());
  await reader.addSplits(await source.discoverSplits({ parallelism: 1 }));
  const output = new RecordingOutput<T>();
  const snapshots = [{ splits: reader.snapshotSplits(), values: 0, letters: 0 }];
  let status: PollStatus;
  do {
    status = await reader.poll(output, 1);
    snapshots.push({ splits: reader.snapshotSplits(), values: output.values.length, letters: output.letters.length });
  } while (status !== 'end');
  await reader.close();
  return { output, snapshots };
}

/** Polls an unbounded reader until `done` says so (a listing finished, records arrived). */
export async function pollUntil<T>(what: string, reader: SourceReader<T>, output: RecordingOutput<T>, done: () => boolean, maxRecords = 100): Promise<void> {
  await waitFor(
    () => `${what} (${output.values.length} records, ${output.letters.length} dead letters so far)`,
    20_000,
    async () => {
      await reader.poll(output, maxRecords);
      return done();
    },
    5,
  );
}

/** A Parquet file of rows { id, name, score } in row groups of `rowGroupRows`. */
export function parquetFile(rows: ReadonlyArray<{ id: number; name: string; score: number | null }>, rowGroupRows: number): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: Int32Array.from(rows.map((r) => r.id)), type: 'INT32' },
      { name: 'name', data: rows.map((r) => r.name), type: 'STRING' },
      { name: 'score', data: rows.map((r) => r.score), type: 'DOUBLE' },
    ],
    rowGroupSize: rowGroupRows,
  });
  return new Uint8Array(buffer);
}

/** Ids seen against the ids expected: how many were lost, and how many came more than once. */
export function countLostAndDoubled(seen: readonly number[], expected: readonly number[]): { lost: number; doubled: number } {
  const counts = new Map<number, number>();
  for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
  const lost = expected.filter((id) => !counts.has(id)).length;
  const doubled = [...counts.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
  return { lost, doubled };
}
