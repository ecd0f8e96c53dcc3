import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { runEmbedded } from '../../testing/embedded-harness.ts';
import { JsonLinesFileSink, JsonLinesFileSource, type JsonLinesFileSinkOptions, type JsonLinesPendingPart } from './index.ts';

function context(subtaskIndex = 0, parallelism = 1): SinkWriterContext {
  return { subtaskIndex, parallelism, jobName: 'test-job', job: { id: 'test-job', submittedAtMs: 0 }, now: () => Date.now() };
}

/** Committed output: the lines of every `*.jsonl` file without a leading dot. */
function committedLines(dir: string): string[] {
  const lines: string[] = [];
  for (const name of committedFiles(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    assert.ok(text.endsWith('\n'), `${name} ends with a line end`);
    lines.push(...text.slice(0, -1).split('\n'));
  }
  return lines;
}

function committedFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && name.endsWith('.jsonl'))
    .sort();
}

function inProgressFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.inprogress'));
}

/** The committed lines are exactly `expected` (as a multiset); a failure says what is missing, extra or left in progress. */
function assertExactlyOnce(dir: string, expected: readonly string[]): void {
  const counts = new Map<string, number>();
  for (const line of expected) counts.set(line, (counts.get(line) ?? 0) + 1);
  let extra = 0;
  for (const line of committedLines(dir)) {
    const left = counts.get(line) ?? 0;
    if (left === 0) extra++;
    else counts.set(line, left - 1);
  }
  const missing = [...counts.values()].reduce((sum, n) => sum + n, 0);
  assert.ok(
    missing === 0 && extra === 0,
    `${missing} of ${expected.length} lines missing, ${extra} extra; files left in progress: ${inProgressFiles(dir).join(' ') || 'none'}`,
  );
}

function writeAll<T>(writer: SinkWriter<T>, values: readonly T[]): void {
  for (const value of values) writer.write(value, 0);
}

describe('JsonLinesFileSink', () => {
  let root: string;
  let counter = 0;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sluice-json-sink-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });
  function freshDir(): string {
    return join(root, `case-${counter++}`);
  }

  /** Input files of `count` records `{ id, text }` (some with multibyte text), spread over `files` files. */
  function writeInput(count: number, files: number): { dir: string; lines: string[] } {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const lines = Array.from({ length: count }, (_, id) => JSON.stringify({ id, text: id % 10 === 0 ? `ü😀 ${id}` : `r${id}` }));
    const perFile = Math.ceil(count / files);
    for (let f = 0; f < files; f++) writeFileSync(join(dir, `in-${f}.jsonl`), lines.slice(f * perFile, (f + 1) * perFile).map((l) => l + '\n').join(''));
    return { dir, lines };
  }

  interface Row {
    id: number;
    text: string;
    seen?: boolean;
  }
  const expectedOutput = (lines: readonly string[]) => lines.map((l) => JSON.stringify({ ...(JSON.parse(l) as Row), seen: true }));

  for (const parallelism of [1, 3]) {
    it(`writes exactly the input lines across committed part files at parallelism ${parallelism}`, async () => {
      const input = writeInput(5000, 4);
      const out = freshDir();
      const env = new StreamExecutionEnvironment().setParallelism(parallelism);
      env
        .fromSource(new JsonLinesFileSource<Row>({ paths: [input.dir] }), WatermarkStrategy.noWatermarks(), 'in')
        .map((row) => ({ ...row, seen: true }))
        .sinkTo(new JsonLinesFileSink({ directory: out }));
      // Checkpoints as often as possible, so each subtask commits many parts.
      const result = await runEmbedded(env, { sourceBatchSize: 50, checkpointIntervalMs: 0 });
      assert.equal(result.state, 'finished');
      assert.ok(result.status.checkpoints.completed > 1, `only ${result.status.checkpoints.completed} checkpoints`);
      assertExactlyOnce(out, expectedOutput(input.lines));
      assert.deepEqual(inProgressFiles(out), []);
      const files = committedFiles(out);
      assert.ok(files.every((name) => /^part-\d-\d+\.jsonl$/.test(name)), files.join(' '));
      assert.deepEqual(new Set(files.map((name) => name.split('-')[1])), new Set(Array.from({ length: parallelism }, (_, i) => String(i))));
      assert.ok(files.length > parallelism, 'more than one part per subtask');

      // A second run into the same directory adds parts after the existing ones and overwrites nothing.
      const again = new StreamExecutionEnvironment().setParallelism(parallelism);
      again
        .fromSource(new JsonLinesFileSource<Row>({ paths: [input.dir] }), WatermarkStrategy.noWatermarks(), 'in')
        .map((row) => ({ ...row, seen: true }))
        .sinkTo(new JsonLinesFileSink({ directory: out }));
      await runEmbedded(again, { sourceBatchSize: 50, checkpointIntervalMs: 0 });
      assertExactlyOnce(out, expectedOutput([...input.lines, ...input.lines]));
    });
  }

  for (const [before, after] of [
    [1, 1],
    [3, 3],
    [3, 2],
    [1, 3],
  ] as const) {
    it(`after a failure, a job restored from the last checkpoint writes each line exactly once (parallelism ${before} → ${after})`, async () => {
      const input = writeInput(6000, 5);
      const out = freshDir();
      const storage = new InMemoryCheckpointStorage();
      const build = (parallelism: number, failAt: number | undefined) => {
        const env = new StreamExecutionEnvironment().setParallelism(parallelism).setMaxParallelism(128);
        let seen = 0;
        env
          .fromSource(new JsonLinesFileSource<Row>({ paths: [input.dir] }), WatermarkStrategy.noWatermarks(), 'in')
          .map((row) => {
            if (failAt !== undefined && ++seen === failAt) throw new Error('injected failure');
            return { ...row, seen: true };
          })
          .sinkTo(new JsonLinesFileSink({ directory: out, maxPartBytes: 2000 }));
        return env;
      };
      await assert.rejects(runEmbedded(build(before, 1500), { sourceBatchSize: 40, checkpointIntervalMs: 0, checkpointStorage: storage }), /injected failure/);
      const completed = await storage.listCompleted();
      assert.ok(completed.length > 0, 'a checkpoint completed before the failure');
      const restored = await runEmbedded(build(after, undefined), {
        sourceBatchSize: 40,
        checkpointIntervalMs: 0,
        checkpointStorage: storage,
        restore: { storage, checkpointId: completed[completed.length - 1]! },
      });
      assert.equal(restored.state, 'finished');
      assertExactlyOnce(out, expectedOutput(input.lines));
      assert.deepEqual(inProgressFiles(out), []);
    });
  }

  it('prepareCommit detaches the part synchronously: a record written after it lands in the next part', async () => {
    const dir = freshDir();
    const sink = new JsonLinesFileSink<unknown>({ directory: dir });
    const writer = await sink.createWriter(context(), undefined);
    writeAll(writer, [{ a: 1 }, 'two']);
    const prepared = writer.prepareCommit(1);
    assert.deepEqual(writer.snapshotState?.(), { nextPartIndex: 1 });
    writer.write({ a: 3 }, 0);
    const first = (await prepared) as JsonLinesPendingPart;
    assert.deepEqual(first, { pending: join(dir, '.part-0-0.inprogress'), final: join(dir, 'part-0-0.jsonl') });
    assert.deepEqual(committedFiles(dir), [], 'nothing is visible before commit');
    await writer.commit([first]);
    assert.equal(readFileSync(join(dir, 'part-0-0.jsonl'), 'utf8'), '{"a":1}\n"two"\n');

    const second = (await writer.prepareCommit(2)) as JsonLinesPendingPart;
    assert.equal(second.final, join(dir, 'part-0-1.jsonl'));
    assert.equal(await writer.prepareCommit(3), undefined, 'nothing written: nothing to commit');
    await writer.commit([second]);
    assert.equal(readFileSync(join(dir, 'part-0-1.jsonl'), 'utf8'), '{"a":3}\n');
    assert.deepEqual(inProgressFiles(dir), []);
    await writer.close();
  });

  it('commit is idempotent', async () => {
    const dir = freshDir();
    const writer = await new JsonLinesFileSink<number>({ directory: dir }).createWriter(context(), undefined);
    writeAll(writer, [1, 2]);
    const first = await writer.prepareCommit(1);
    writeAll(writer, [3]);
    const second = await writer.prepareCommit(2);
    await writer.commit([first]);
    await writer.commit([first]);
    await writer.commit([first, second]);
    await writer.commit([second, first]);
    assert.deepEqual(committedFiles(dir), ['part-0-0.jsonl', 'part-0-1.jsonl']);
    assert.deepEqual(committedLines(dir), ['1', '2', '3']);
    // A restored writer commits the same committables again.
    const restored = await new JsonLinesFileSink<number>({ directory: dir }).createWriter(context(), [writer.snapshotState?.()]);
    await restored.commit([first, second]);
    assert.deepEqual(committedLines(dir), ['1', '2', '3']);
    await writer.close();
    await restored.close();
  });

  it('commit of a part whose files are both missing fails, naming both', async () => {
    const dir = freshDir();
    const writer = await new JsonLinesFileSink<number>({ directory: dir }).createWriter(context(), undefined);
    const pending = join(dir, '.part-0-7.inprogress');
    const final = join(dir, 'part-0-7.jsonl');
    await assert.rejects(writer.commit([{ pending, final }]), (error: Error) => {
      assert.ok(error.message.includes(pending) && error.message.includes(final), error.message);
      assert.match(error.message, /neither the in-progress file .* nor the committed file .* exists/);
      return true;
    });
    // A committed file that is another part than the pending one is never overwritten.
    writeFileSync(pending, '1\n');
    writeFileSync(final, 'other\n');
    await assert.rejects(writer.commit([{ pending, final }]), /exists already and is another file; refusing to overwrite it/);
    assert.equal(readFileSync(final, 'utf8'), 'other\n');
    await assert.rejects(writer.commit([{ pending }]), /is not \{ pending, final \}/);
    await writer.close();
  });

  it('abortLeftovers deletes only the in-progress files of its subtask that no committable refers to', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const names = [
      '.part-0-0.inprogress', // referenced: kept
      '.part-0-1.inprogress', // this subtask, unreferenced: deleted
      '.part-1-0.inprogress', // subtask 1 of 2: kept
      '.part-2-4.inprogress', // old subtask 2, whose state subtask 0 of 2 receives: deleted
      '.part-3-0.inprogress', // old subtask 3 → subtask 1: kept
      'part-0-1.jsonl', // committed: kept
      '.other-0-5.inprogress', // another prefix: kept
      'notes.txt',
    ];
    for (const name of names) writeFileSync(join(dir, name), 'x\n');
    const sink = new JsonLinesFileSink<unknown>({ directory: dir });
    const keep: JsonLinesPendingPart[] = [{ pending: join(dir, '.part-0-0.inprogress'), final: join(dir, 'part-0-0.jsonl') }];
    await sink.abortLeftovers(context(0, 2), keep);
    assert.deepEqual(readdirSync(dir).sort(), ['.other-0-5.inprogress', '.part-0-0.inprogress', '.part-1-0.inprogress', '.part-3-0.inprogress', 'notes.txt', 'part-0-1.jsonl']);
    // Committables in the array form (parts rolled at maxPartBytes) count too.
    await sink.abortLeftovers(context(1, 2), [[{ pending: join(dir, '.part-1-0.inprogress'), final: join(dir, 'part-1-0.jsonl') }]]);
    assert.ok(existsSync(join(dir, '.part-1-0.inprogress')));
    assert.ok(!existsSync(join(dir, '.part-3-0.inprogress')));
    // A directory that does not exist yet has nothing to abort.
    await sink.abortLeftovers(context(0, 1), []);
    await new JsonLinesFileSink<unknown>({ directory: freshDir() }).abortLeftovers(context(0, 1), []);
  });

  it('a restored writer starts after the restored part numbers and after the parts of its subtask in the directory', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const sink = new JsonLinesFileSink<number>({ directory: dir });
    const fromStates = await sink.createWriter(context(0, 2), [{ nextPartIndex: 3 }, { nextPartIndex: 7 }]);
    assert.deepEqual(fromStates.snapshotState?.(), { nextPartIndex: 7 });
    writeFileSync(join(dir, 'part-0-9.jsonl'), '1\n');
    writeFileSync(join(dir, '.part-0-11.inprogress'), '1\n');
    writeFileSync(join(dir, 'part-1-50.jsonl'), '1\n');
    const fromScan = await sink.createWriter(context(0, 2), [{ nextPartIndex: 3 }]);
    assert.deepEqual(fromScan.snapshotState?.(), { nextPartIndex: 12 });
    writeAll(fromScan, [5]);
    const part = (await fromScan.prepareCommit(1)) as JsonLinesPendingPart;
    assert.equal(part.final, join(dir, 'part-0-12.jsonl'));
    const fresh = await sink.createWriter(context(1, 2), undefined);
    assert.deepEqual(fresh.snapshotState?.(), { nextPartIndex: 51 });
    await assert.rejects(Promise.resolve(sink.createWriter(context(0, 1), [{ next: 1 }])), /has no valid nextPartIndex/);
    for (const w of [fromStates, fromScan, fresh]) await w.close();
  });

  it('rolls parts at maxPartBytes and commits them all', async () => {
    const dir = freshDir();
    const writer = await new JsonLinesFileSink<{ i: number }>({ directory: dir, maxPartBytes: 100 }).createWriter(context(), undefined);
    const values = Array.from({ length: 60 }, (_, i) => ({ i }));
    writeAll(writer, values);
    const committable = await writer.prepareCommit(1);
    assert.ok(Array.isArray(committable) && committable.length > 3, JSON.stringify(committable));
    await writer.commit([committable]);
    await writer.commit([committable]);
    const files = committedFiles(dir);
    const sizes = files.map((name) => readFileSync(join(dir, name)).length);
    assert.ok(sizes.slice(0, -1).every((size) => size >= 100 && size < 100 + 10), sizes.join(' '));
    const ordered = files.sort((a, b) => Number(a.split('-')[2]!.split('.')[0]) - Number(b.split('-')[2]!.split('.')[0]));
    const lines = ordered.flatMap((name) => readFileSync(join(dir, name), 'utf8').trimEnd().split('\n'));
    assert.deepEqual(lines, values.map((v) => JSON.stringify(v)));
    await writer.close();
  });

  it('close drops the part no checkpoint refers to', async () => {
    const dir = freshDir();
    const writer = await new JsonLinesFileSink<string>({ directory: dir }).createWriter(context(), undefined);
    writeAll(writer, ['a']);
    const prepared = await writer.prepareCommit(1);
    // Enough text to be written to a new in-progress file before any checkpoint.
    writeAll(writer, Array.from({ length: 300 }, () => 'x'.repeat(1000)));
    assert.equal(inProgressFiles(dir).length, 2);
    await writer.close();
    assert.deepEqual(inProgressFiles(dir), ['.part-0-0.inprogress'], 'the pre-committed part stays for its commit');
    await (await new JsonLinesFileSink<string>({ directory: dir }).createWriter(context(), undefined)).commit([prepared]);
    assert.deepEqual(committedLines(dir), ['"a"']);
  });

  it('rejects a serializer result that is not one line', async () => {
    const dir = freshDir();
    const custom = await new JsonLinesFileSink<string>({ directory: dir, serialize: (s) => s }).createWriter(context(), undefined);
    custom.write('fine', 0);
    assert.throws(() => custom.write('two\nlines', 0), /serialize returned a string with a line end/);
    const json = await new JsonLinesFileSink<unknown>({ directory: dir }).createWriter(context(), undefined);
    assert.throws(() => json.write(undefined, 0), /serialize returned undefined instead of a string/);
    assert.throws(() => json.write(10n, 0), { name: 'UserFunctionError', message: /serialize threw/ });
    await custom.close();
    await json.close();
  });

  it('validates its options, naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{}, /^directory: must be a non-empty path/],
      [{ directory: '' }, /^directory: /],
      [{ directory: 'out', partPrefix: '.hidden' }, /^partPrefix: /],
      [{ directory: 'out', partPrefix: 'a/b' }, /^partPrefix: /],
      [{ directory: 'out', partPrefix: '' }, /^partPrefix: /],
      [{ directory: 'out', maxPartBytes: 0 }, /^maxPartBytes: must be a positive integer/],
      [{ directory: 'out', serialize: 'json' }, /^serialize: must be a function/],
      [{ directory: 'out', name: 3 }, /^name: /],
      [{ directory: 'out', dir: 'x' }, /^dir: is not a JsonLinesFileSink option/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => new JsonLinesFileSink(options as JsonLinesFileSinkOptions<unknown>), { name: 'ConfigurationError', message }, JSON.stringify(options));
    }
  });
});
