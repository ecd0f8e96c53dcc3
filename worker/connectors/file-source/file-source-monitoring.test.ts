// Continuous monitoring (Flink's monitorContinuously) on local folders, at the reader, on a manual
// clock: a listing only every interval, a file added later read exactly once (also when listed
// again, after a restore from a snapshot taken inside it, and after a rescale of the discovery
// splits to fewer or more readers), and the bounded mode that finishes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { SourceReader, SplitState } from '../../../shared/api/connectors.ts';
import { redistributeRestored, roundRobin } from '../../../shared/plan/split-assignment.ts';
import { FileSource, JsonLinesInputFormat, type FileDiscoveryPosition } from './index.ts';
import { countLostAndDoubled, pollUntil, readAll, readerContext, RecordingOutput } from './testing-file-source.ts';

interface Row {
  readonly id: number;
}

const INTERVAL_MS = 1000;

describe('FileSource monitoring a folder', () => {
  let root: string;
  let cases = 0;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sluice-file-monitor-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  function emptyFolder(): string {
    const dir = join(root, `case-${cases++}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Writes ids [from, to) as JSON lines the way a producer should: a hidden name first, then a rename. */
  function addFile(dir: string, name: string, from: number, to: number): number[] {
    const ids = Array.from({ length: to - from }, (_, i) => from + i);
    writeFileSync(join(dir, `.${name}.tmp`), ids.map((id) => JSON.stringify({ id })).join('\n') + '\n');
    renameSync(join(dir, `.${name}.tmp`), join(dir, name));
    return ids;
  }

  function monitoringSource(dir: string): FileSource<Row> {
    return FileSource.forRecordStreamFormat(new JsonLinesInputFormat<Row>(), dir).monitorContinuously(INTERVAL_MS).build();
  }

  /** Polls a few times, yielding to I/O in between: what an idle reader does while the clock stands still. */
  async function idlePolls<T>(reader: SourceReader<T>, output: RecordingOutput<T>): Promise<void> {
    for (let i = 0; i < 20; i++) {
      assert.equal(await reader.poll(output, 100), 'wait');
      await yieldToIo();
    }
  }

  it('is unbounded, and deals one discovery split per subtask after the files', async () => {
    const dir = emptyFolder();
    addFile(dir, 'a.jsonl', 0, 3);
    addFile(dir, 'b.jsonl', 3, 6);
    const source = monitoringSource(dir);
    assert.equal(source.bounded, false);
    const splits = await source.discoverSplits({ parallelism: 3 });
    assert.deepEqual(splits.map((s) => s.id), [join(dir, 'a.jsonl'), join(dir, 'b.jsonl'), 'file-discovery-0-of-3', 'file-discovery-1-of-3', 'file-discovery-2-of-3']);
    const known = splits.slice(2).flatMap((s) => (s.position as FileDiscoveryPosition).alreadyProcessedPaths);
    assert.deepEqual(known.sort(), [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')]);
    // Round-robin gives every subtask one discovery split.
    for (let i = 0; i < 3; i++) assert.equal(roundRobin(splits, 3, i).filter((s) => s.id.startsWith('file-discovery-')).length, 1);
  });

  it('lists only every interval, and reads a file added later exactly once', async () => {
    const dir = emptyFolder();
    const expected = addFile(dir, 'a.jsonl', 0, 5);
    const source = monitoringSource(dir);
    let nowMs = 0;
    const reader = source.createReader(readerContext(() => nowMs));
    await reader.addSplits(await source.discoverSplits({ parallelism: 1 }));
    const output = new RecordingOutput<Row>();
    await pollUntil('the first listing and file a', reader, output, () => source.counters().listings === 1 && output.values.length === 5);
    assert.deepEqual(output.finished.sort(), [0, 1], 'file a and the discovery split (which holds no records) are finished');

    expected.push(...addFile(dir, 'b.jsonl', 5, 8));
    await idlePolls(reader, output);
    assert.equal(source.counters().listings, 1, 'no listing before the interval has passed');
    assert.equal(output.values.length, 5);

    nowMs += INTERVAL_MS;
    await pollUntil('file b', reader, output, () => output.values.length === 8);
    assert.deepEqual(output.splitOf.slice(5), [2, 2, 2], 'the new file is a split numbered after the others');
    for (let listing = 3; listing <= 4; listing++) {
      nowMs += INTERVAL_MS;
      await pollUntil(`listing ${listing}`, reader, output, () => source.counters().listings === listing);
    }
    await idlePolls(reader, output);
    assert.deepEqual(output.values.map((r) => r.id), expected);
    assert.equal(source.counters().filesDiscovered, 1);
    await reader.close();
  });

  it('restored from a snapshot taken inside a discovered file: reads its rest, and neither it nor a file known before again', async () => {
    const dir = emptyFolder();
    const expected = addFile(dir, 'a.jsonl', 0, 3);
    const source = monitoringSource(dir);
    let nowMs = 0;
    const first = source.createReader(readerContext(() => nowMs));
    await first.addSplits(await source.discoverSplits({ parallelism: 1 }));
    const before = new RecordingOutput<Row>();
    await pollUntil('file a', first, before, () => before.values.length === 3 && source.counters().listings === 1);
    expected.push(...addFile(dir, 'b.jsonl', 3, 103));
    nowMs += INTERVAL_MS;
    await pollUntil('a part of file b', first, before, () => before.values.length >= 10, 1);
    const snapshot = first.snapshotSplits();
    await first.close();
    const inB = snapshot.find((s) => s.id === join(dir, 'b.jsonl'))!.position as { byteOffset: number; fileSize: number };
    assert.ok(inB.byteOffset > 0 && inB.byteOffset < inB.fileSize, `the snapshot is inside file b: ${JSON.stringify(inB)}`);

    expected.push(...addFile(dir, 'c.jsonl', 103, 110)); // while the job is down
    const restored = monitoringSource(dir);
    const reader = restored.createReader(readerContext(() => nowMs));
    await reader.addSplits(snapshot);
    const after = new RecordingOutput<Row>();
    await pollUntil('the rest of b, and c', reader, after, () => before.values.length + after.values.length === 110);
    expected.push(...addFile(dir, 'd.jsonl', 110, 112));
    nowMs += INTERVAL_MS;
    await pollUntil('file d', reader, after, () => before.values.length + after.values.length === 112);
    nowMs += INTERVAL_MS;
    await pollUntil('one more listing', reader, after, () => restored.counters().listings === 3);
    await idlePolls(reader, after);
    const seen = [...before.values, ...after.values].map((r) => r.id);
    assert.deepEqual(countLostAndDoubled(seen, expected), { lost: 0, doubled: 0 });
    assert.deepEqual(restored.counters().filesDiscovered, 2, 'c and d; b came back as a split of the snapshot');
    await reader.close();
  });

  for (const [from, to] of [
    [2, 1],
    [2, 3],
    [3, 2],
  ] as const) {
    it(`rescaled from ${from} to ${to} readers: every new file read once`, async () => {
      const dir = emptyFolder();
      const expected = addFile(dir, 'a.jsonl', 0, 4);
      const source = monitoringSource(dir);
      let nowMs = 0;
      const seen: number[] = [];
      /** Runs readers on `splitsOf` until each discovery split has listed once, `addFiles` ran and the next listings read what it added. */
      const run = async (splitsOf: readonly SplitState[][], addFiles: () => number[]) => {
        const readers = splitsOf.map((splits, i) => {
          const reader = source.createReader(readerContext(() => nowMs, i, splitsOf.length));
          reader.addSplits(splits);
          return reader;
        });
        const outputs = readers.map(() => new RecordingOutput<Row>());
        const poll = () => Promise.all(readers.map((reader, i) => reader.poll(outputs[i]!, 100)));
        const listingsBefore = source.counters().listings;
        const holders = splitsOf.filter((splits) => splits.some((s) => s.id.startsWith('file-discovery-'))).length;
        assert.ok(holders >= 1);
        await waitForCondition(poll, () => source.counters().listings === listingsBefore + holders);
        expected.push(...addFiles());
        nowMs += INTERVAL_MS;
        const read = () => seen.length + outputs.reduce((sum, o) => sum + o.values.length, 0);
        await waitForCondition(poll, () => source.counters().listings === listingsBefore + 2 * holders && read() === expected.length);
        for (const o of outputs) seen.push(...o.values.map((r) => r.id));
        const snapshots = readers.map((reader) => reader.snapshotSplits());
        for (const reader of readers) await reader.close();
        return snapshots;
      };
      let next = 4;
      const newFile = (name: string, count: number) => () => addFile(dir, name, next, (next += count));
      const initial = await source.discoverSplits({ parallelism: from });
      const snapshots = await run(Array.from({ length: from }, (_, i) => roundRobin(initial, from, i)), newFile('b.jsonl', 6));
      await run(Array.from({ length: to }, (_, i) => redistributeRestored(snapshots, to, i)), newFile('c.jsonl', 5));
      assert.deepEqual(countLostAndDoubled(seen, expected), { lost: 0, doubled: 0 });
      assert.equal(seen.length, 15);
    });
  }

  it('without monitoring: reads the files present at start and ends, even when more come', async () => {
    const dir = emptyFolder();
    addFile(dir, 'a.jsonl', 0, 3);
    const source = new FileSource<Row>({ paths: [dir], format: new JsonLinesInputFormat() });
    const splits = await source.discoverSplits({ parallelism: 2 });
    addFile(dir, 'b.jsonl', 3, 6);
    const out = await readAll(source, { splits });
    assert.deepEqual(out.values.map((r) => r.id), [0, 1, 2]);
    assert.equal(source.counters().listings, 0);
  });
});

/** Polls until `done`, yielding to I/O between rounds (the listings and reads run in the background). */
async function waitForCondition(poll: () => Promise<unknown>, done: () => boolean): Promise<void> {
  for (let round = 0; !done(); round++) {
    assert.ok(round < 100_000, 'the condition never came');
    await poll();
    await yieldToIo();
  }
}
