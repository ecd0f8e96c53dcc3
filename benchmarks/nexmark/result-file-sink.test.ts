// The cluster mode's result files: what parallel writers leave behind adds up to the checksum of
// all results, and a subtask that wrote nothing is reported, not ignored.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canonicalOutput, OutputChecksum } from './checksum.ts';
import { readResultFiles, ResultFileSink } from './result-file-sink.ts';

const bids = [
  { auction: 1, price: 10 },
  { auction: 2, price: 20 },
  { auction: 3, price: 30 },
];

function writerFor(sink: ResultFileSink, subtaskIndex: number, parallelism: number) {
  const writer = sink.createWriter({ subtaskIndex, parallelism, jobName: 'test', job: { id: 'test', submittedAtMs: 0 }, now: () => 0 });
  if (writer instanceof Promise) throw new Error('expected a synchronous writer');
  return writer;
}

describe('ResultFileSink', () => {
  it('adds up the partial checksums of parallel writers, as of their last pre-commit', () => {
    const directory = mkdtempSync(join(tmpdir(), 'result-file-sink-'));
    try {
      const sink = new ResultFileSink({ directory, query: 'q2', checksum: true });
      const first = writerFor(sink, 0, 2);
      const second = writerFor(sink, 1, 2);
      first.write(bids[0], 0);
      first.prepareCommit(1);
      first.write(bids[1], 0);
      second.write(bids[2], 0);
      second.prepareCommit(1);
      // The first writer's second result is not in a file yet.
      const expectedSoFar = new OutputChecksum();
      for (const b of [bids[0], bids[2]]) expectedSoFar.add(canonicalOutput('q2', b));
      assert.deepEqual(readResultFiles(directory), { count: 2, checksum: { hex: expectedSoFar.hex, count: 2 } });
      first.prepareCommit(2);
      const expected = new OutputChecksum();
      for (const b of bids) expected.add(canonicalOutput('q2', b));
      assert.deepEqual(readResultFiles(directory), { count: 3, checksum: { hex: expected.hex, count: 3 } });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('counts without checksums, and reports subtasks that wrote no file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'result-file-sink-'));
    try {
      assert.match((readResultFiles(directory) as { missing: string }).missing, /no sink subtask/);
      const sink = new ResultFileSink({ directory, query: 'q0', checksum: false });
      const third = writerFor(sink, 2, 3);
      third.write(bids[0], 0);
      third.prepareCommit(1);
      assert.deepEqual(readResultFiles(directory), { missing: 'sink subtasks 0, 1 of 3 wrote no results file' });
      for (const i of [0, 1]) writerFor(sink, i, 3).prepareCommit(1);
      assert.deepEqual(readResultFiles(directory), { count: 1 });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
