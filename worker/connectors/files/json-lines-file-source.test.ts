import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PollStatus, SourceOutput, SplitState } from '../../../shared/api/connectors.ts';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { runEmbedded } from '../../testing/embedded-harness.ts';
import { CollectSink } from '../collect-sink.ts';
import { JsonLinesFileSource, type JsonLinesFileSourceOptions, type JsonLinesPosition } from './index.ts';

interface Letter {
  raw: string;
  reason: string;
  position: string;
}

/** A SourceOutput that records everything, including SourceOperator's finishSplit hook. */
class RecordingOutput<T> implements SourceOutput<T> {
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

async function readAll<T>(
  source: JsonLinesFileSource<T>,
  options: { splits?: readonly SplitState[]; maxRecords?: number } = {},
): Promise<RecordingOutput<T>> {
  const reader = source.createReader();
  await reader.addSplits(options.splits ?? (await source.discoverSplits()));
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

describe('JsonLinesFileSource', () => {
  let root: string;
  let counter = 0;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sluice-json-source-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });
  /** A fresh directory with the given files (name → content). */
  function dirWith(files: Record<string, string | Buffer>): string {
    const dir = join(root, `case-${counter++}`);
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return dir;
  }
  function fileWith(content: string | Buffer): string {
    return join(dirWith({ 'data.jsonl': content }), 'data.jsonl');
  }

  it('reads every line of a file, in order, as JSON', async () => {
    const records = Array.from({ length: 1000 }, (_, i) => ({ id: i, text: `record ${i}`, nested: { even: i % 2 === 0 } }));
    const path = fileWith(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    for (const maxRecords of [1, 7, 1024]) {
      const out = await readAll(new JsonLinesFileSource({ paths: [path] }), { maxRecords });
      assert.deepEqual(out.values, records);
      assert.deepEqual(out.letters, []);
      assert.deepEqual(out.finished, [0]);
    }
  });

  it('lists the *.json, *.jsonl and *.ndjson files of a directory in name order, one split each', async () => {
    const dir = dirWith({
      'b.jsonl': '2\n3\n',
      'a.json': '1\n',
      'c.ndjson': '4\n',
      'd.txt': '"not listed"\n',
      '.hidden.jsonl': '"hidden"\n',
      '_SUCCESS.json': '"marker"\n',
    });
    mkdirSync(join(dir, 'sub.jsonl'));
    const extra = fileWith('5\n');
    const source = new JsonLinesFileSource<number>({ paths: [dir, extra, join(dir, 'a.json')] });
    const splits = await source.discoverSplits();
    assert.deepEqual(
      splits.map((s) => s.id),
      [join(dir, 'a.json'), join(dir, 'b.jsonl'), join(dir, 'c.ndjson'), extra],
    );
    assert.deepEqual(splits[0]!.position, { byteOffset: 0, lineNumber: 1 });
    assert.equal(source.bounded, true);
    const out = await readAll(source, { maxRecords: 2 });
    assert.deepEqual(out.values, [1, 2, 3, 4, 5]);
    assert.deepEqual(out.splitOf, [0, 1, 1, 2, 3]);
    assert.deepEqual(out.finished, [0, 1, 2, 3]);
  });

  it('decodes multibyte characters split across read chunks', async () => {
    const texts = ['héllo', '😀 emoji', '中文字符', 'mixed ü😀中 end', 'ascii', '', 'ŝ'.repeat(40)];
    const content = texts.map((text, i) => JSON.stringify({ i, text })).join('\n') + '\n';
    const path = fileWith(content);
    const expected = texts.map((text, i) => ({ i, text }));
    for (let chunk = 1; chunk <= 9; chunk++) {
      const out = await readAll(new JsonLinesFileSource({ paths: [path], readChunkBytes: chunk }), { maxRecords: 3 });
      assert.deepEqual(out.values, expected, `readChunkBytes ${chunk}`);
      assert.deepEqual(out.letters, [], `readChunkBytes ${chunk}`);
    }
  });

  it('handles CRLF, a last line without a line end, empty lines and a byte order mark', async () => {
    const content = '\uFEFF{"a":1}\r\n\r\n{"a":2}\n\n   \n{"a":"x\\r"}\r\n{"a":4}';
    const path = fileWith(content);
    for (const chunk of [1, 2, 3, 5, 1024]) {
      const out = await readAll(new JsonLinesFileSource({ paths: [path], readChunkBytes: chunk }));
      // A line of blanks is not empty: it is a dead letter (not valid JSON).
      assert.deepEqual(out.values, [{ a: 1 }, { a: 2 }, { a: 'x\r' }, { a: 4 }], `readChunkBytes ${chunk}`);
      assert.deepEqual(out.letters.map((l) => l.position), [`${path}:5`]);
    }
    const noNewline = fileWith('"only"');
    assert.deepEqual((await readAll(new JsonLinesFileSource({ paths: [noNewline] }))).values, ['only']);
    const empty = fileWith('');
    const out = await readAll(new JsonLinesFileSource({ paths: [empty] }));
    assert.deepEqual(out.values, []);
    assert.deepEqual(out.finished, [0]);
  });

  it('sends invalid JSON and oversized lines to the dead letters with path and line number, and goes on', async () => {
    const long = JSON.stringify({ pad: 'x'.repeat(100) });
    const content = ['{"ok":1}', '{not json', '{"ok":2}', long, '{"ok":3}', long.slice(0, 30), '{"ok":4}', long].join('\n');
    const path = fileWith(content);
    for (const chunk of [4, 16, 1024]) {
      const out = await readAll(new JsonLinesFileSource({ paths: [path], maxLineBytes: 40, readChunkBytes: chunk }), { maxRecords: 2 });
      assert.deepEqual(out.values, [{ ok: 1 }, { ok: 2 }, { ok: 3 }, { ok: 4 }], `readChunkBytes ${chunk}`);
      assert.deepEqual(
        out.letters.map((l) => l.position),
        [`${path}:2`, `${path}:4`, `${path}:6`, `${path}:8`],
      );
      assert.equal(out.letters[0]!.raw, '{not json');
      assert.match(out.letters[0]!.reason, /^invalid JSON: /);
      assert.match(out.letters[1]!.reason, new RegExp(`line of ${long.length} bytes exceeds maxLineBytes \\(40\\)`));
      // The raw text of an oversized line is its first 1024 bytes (here: all of it), however it was read.
      assert.equal(out.letters[1]!.raw, long);
      assert.equal(out.letters[3]!.raw, long);
      assert.match(out.letters[2]!.reason, /^invalid JSON/);
      // The last line: oversized, without a line end.
      assert.match(out.letters[3]!.reason, new RegExp(`line of ${long.length} bytes exceeds`));
    }
  });

  it('hands lines and their origin to a custom deserialize, and dead-letters what it throws on', async () => {
    const path = fileWith('a,1\nb,2\nbad\nc,3\n');
    const origins: unknown[] = [];
    const source = new JsonLinesFileSource<{ key: string; n: number }>({
      paths: [path],
      deserialize: (line, origin) => {
        origins.push(origin);
        const [key, n] = line.split(',');
        if (n === undefined) throw new Error('expected key,number');
        return { key: key!, n: Number(n) };
      },
    });
    const out = await readAll(source);
    assert.deepEqual(out.values, [
      { key: 'a', n: 1 },
      { key: 'b', n: 2 },
      { key: 'c', n: 3 },
    ]);
    assert.deepEqual(out.letters, [{ raw: 'bad', reason: 'deserialize threw: expected key,number', position: `${path}:3` }]);
    assert.deepEqual(origins[2], { path, byteOffset: 8, lineNumber: 3 });
  });

  it('restored from the position after any record, reads exactly the rest', async () => {
    const lines = ['{"n":0}', '', '{"n":1}', 'oops', '{"n":"ü😀"}', '\r', '{"n":3}', JSON.stringify({ n: 'x'.repeat(50) }), '{"n":5}'];
    const pathA = fileWith(lines.join('\r\n') + '\n');
    const pathB = fileWith('{"b":1}\n{"b":2}\n{"b":3}');
    for (const chunk of [1, 3, 8, 1024]) {
      const options: JsonLinesFileSourceOptions<unknown> = { paths: [pathA, pathB], readChunkBytes: chunk, maxLineBytes: 40 };
      const full = await readAll(new JsonLinesFileSource(options));
      const all = [...full.values.map((v) => ({ v })), ...full.letters.map((l) => ({ l: l.position }))];
      assert.equal(full.values.length, 8);
      // 'oops', a line of one '\r' before the CRLF (not empty, not JSON) and the oversized line.
      assert.deepEqual(full.letters.map((l) => l.position), [`${pathA}:4`, `${pathA}:6`, `${pathA}:8`]);

      // Snapshot after every poll of one record, and restore from each snapshot.
      const source = new JsonLinesFileSource(options);
      const reader = source.createReader();
      reader.addSplits(await source.discoverSplits());
      const output = new RecordingOutput<unknown>();
      const snapshots: Array<{ splits: SplitState[]; valuesSoFar: number; lettersSoFar: number }> = [
        { splits: reader.snapshotSplits(), valuesSoFar: 0, lettersSoFar: 0 },
      ];
      let status: PollStatus;
      do {
        status = await reader.poll(output, 1);
        snapshots.push({ splits: reader.snapshotSplits(), valuesSoFar: output.values.length, lettersSoFar: output.letters.length });
      } while (status !== 'end');
      await reader.close();
      assert.ok(snapshots.length >= all.length);

      for (const snap of snapshots) {
        const rest = await readAll(new JsonLinesFileSource(options), { splits: snap.splits, maxRecords: 2 });
        assert.deepEqual(rest.values, full.values.slice(snap.valuesSoFar), `chunk ${chunk}, from ${JSON.stringify(snap.splits)}`);
        assert.deepEqual(rest.letters, full.letters.slice(snap.lettersSoFar), `chunk ${chunk}, from ${JSON.stringify(snap.splits)}`);
      }
      const end = snapshots[snapshots.length - 1]!.splits;
      const endOfA = end[0]!.position as JsonLinesPosition;
      assert.equal(endOfA.lineNumber, lines.length + 1);
      assert.equal(endOfA.byteOffset, Buffer.byteLength(lines.join('\r\n') + '\n'));
      assert.deepEqual(end[1]!.position, { byteOffset: 23, lineNumber: 4 });
    }
  });

  it('keeps positions exact when a checkpoint is taken while a poll waits for a read', async () => {
    const path = fileWith(Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n'));
    const options = { paths: [path], readChunkBytes: 5 };
    const source = new JsonLinesFileSource(options);
    const reader = source.createReader();
    reader.addSplits(await source.discoverSplits());
    const output = new RecordingOutput<unknown>();
    const pending = reader.poll(output, 20);
    assert.ok(pending instanceof Promise);
    let settled = false;
    void pending.then(() => (settled = true));
    // Let some reads complete, then snapshot in the middle of the poll.
    while (output.values.length < 3) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
    const emitted = output.values.length;
    const snapshot = reader.snapshotSplits();
    await pending;
    assert.equal(output.values.length, 20);
    await reader.close();
    const rest = await readAll(new JsonLinesFileSource(options), { splits: snapshot });
    assert.deepEqual([...output.values.slice(0, emitted), ...rest.values], Array.from({ length: 50 }, (_, i) => ({ i })));
  });

  it('names a missing path and the option', async () => {
    const missing = join(root, 'does-not-exist.jsonl');
    const source = new JsonLinesFileSource({ paths: [missing] });
    await assert.rejects(source.discoverSplits(), (error: Error) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.field, 'paths');
      assert.ok(error.message.includes(missing), error.message);
      return true;
    });
    // A file that disappears between discovery and reading.
    const reader = source.createReader();
    reader.addSplits([{ id: missing, position: { byteOffset: 0, lineNumber: 1 } }]);
    await assert.rejects(Promise.resolve(reader.poll(new RecordingOutput(), 10)), new RegExp(`paths: ${missing} does not exist`));
  });

  it('validates its options, naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ paths: [] }, /^paths: must be a non-empty array/],
      [{ paths: 'a.jsonl' }, /^paths: /],
      [{ paths: [''] }, /^paths\[0\]: /],
      [{ paths: ['a'], maxLineBytes: 0 }, /^maxLineBytes: must be a positive integer/],
      [{ paths: ['a'], maxLineBytes: 1.5 }, /^maxLineBytes: /],
      [{ paths: ['a'], readChunkBytes: -1 }, /^readChunkBytes: /],
      [{ paths: ['a'], deserialize: 'JSON' }, /^deserialize: must be a function/],
      [{ paths: ['a'], name: '' }, /^name: /],
      [{ paths: ['a'], path: 'x' }, /^path: is not a JsonLinesFileSource option/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => new JsonLinesFileSource(options as JsonLinesFileSourceOptions<unknown>), { name: 'ConfigurationError', message }, JSON.stringify(options));
    }
  });

  it('rejects a restored position beyond the end of the file', async () => {
    const path = fileWith('1\n2\n');
    const reader = new JsonLinesFileSource({ paths: [path] }).createReader();
    reader.addSplits([{ id: path, position: { byteOffset: 100, lineNumber: 3 } }]);
    await assert.rejects(Promise.resolve(reader.poll(new RecordingOutput(), 10)), /has 4 bytes, fewer than the checkpointed position 100/);
    await reader.close();
    assert.throws(() => reader.addSplits([{ id: path, position: { line: 3 } }]), /expected \{ byteOffset >= 0, lineNumber >= 1 \}/);
  });

  for (const parallelism of [1, 3]) {
    it(`runs in a job at parallelism ${parallelism}: every record once, dead letters counted`, async () => {
      const files: Record<string, string> = {};
      const expected: number[] = [];
      let n = 0;
      for (let f = 0; f < 5; f++) {
        const lines: string[] = [];
        for (let i = 0; i < 300; i++) {
          if (i % 100 === 7) lines.push(`{broken ${f}/${i}`);
          else {
            lines.push(JSON.stringify({ n }));
            expected.push(n++);
          }
        }
        files[`f${f}.jsonl`] = lines.join('\n') + '\n';
      }
      const dir = dirWith(files);
      const env = new StreamExecutionEnvironment().setParallelism(parallelism);
      const sink = new CollectSink<number>();
      env
        .fromSource(new JsonLinesFileSource<{ n: number }>({ paths: [dir] }), WatermarkStrategy.noWatermarks(), 'in')
        .map((r) => r.n)
        .sinkTo(sink);
      const result = await runEmbedded(env, { sourceBatchSize: 64 });
      assert.equal(result.state, 'finished');
      assert.deepEqual([...sink.values].sort((a, b) => a - b), expected);
      assert.equal(result.deadLetters.letters.length, 15);
      assert.equal(result.status.deadLetters, 15);
      assert.ok(result.deadLetters.letters.every((l) => /f\d\.jsonl:(8|108|208)$/.test(l.position) && l.raw.startsWith('{broken')));
    });
  }
});
