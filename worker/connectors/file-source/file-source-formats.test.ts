// The FileSource's formats on local files: JSON lines, CSV and Parquet read correctly whatever the
// chunk size, bad input named by file and line (or row) — as dead letters or as the job's failure —
// and, for each format, a reader restored from the snapshot taken after any record reads exactly
// the rest.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordDeserializationError } from '../../../shared/errors.ts';
import { CsvReaderFormat, FileSource, JsonLinesInputFormat, ParquetInputFormat, type FileSourceOptions } from './index.ts';
import { parseCsvFields } from './csv-reader-format.ts';
import { parquetFile, readAll, readerContext, RecordingOutput, snapshotsWhileReading } from './testing-file-source.ts';

describe('FileSource formats', () => {
  let root: string;
  let cases = 0;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sluice-file-source-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A fresh folder holding `files` (name → content); names may contain '/'. */
  function folderWith(files: Record<string, string | Uint8Array>): string {
    const dir = join(root, `case-${cases++}`);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    return dir;
  }

  describe('JSON lines', () => {
    it('reads every line, whatever the chunk size, across multibyte characters, CRLF, blank lines, a BOM and a last line without a line end', async () => {
      const records = Array.from({ length: 200 }, (_, i) => ({ id: i, text: i % 7 === 0 ? `ü😀中 ${i}` : `r${i}` }));
      const content = '\uFEFF' + records.map((r, i) => JSON.stringify(r) + (i % 5 === 0 ? '\r\n' : '\n') + (i % 9 === 0 ? '\n' : '')).join('').trimEnd();
      const dir = folderWith({ 'a.jsonl': content });
      for (const readChunkBytes of [1, 3, 7, 64, 1 << 20]) {
        const out = await readAll(new FileSource({ paths: [dir], format: new JsonLinesInputFormat(), readChunkBytes }), { maxRecords: 13 });
        assert.deepEqual(out.values, records, `readChunkBytes ${readChunkBytes}`);
        assert.deepEqual(out.letters, []);
        assert.deepEqual(out.finished, [0]);
      }
    });

    it('lists folders recursively in path order, skipping names that start with . or _', async () => {
      const dir = folderWith({
        'b.jsonl': '2\n',
        'a/x.jsonl': '1\n',
        'c/d/e.json': '3\n',
        '_SUCCESS': '',
        '.in-progress.jsonl': '"hidden"\n',
        '_temporary/part.jsonl': '"temporary"\n',
        'c/.f.jsonl': '"hidden"\n',
      });
      const source = new FileSource<number>({ paths: [dir], format: new JsonLinesInputFormat() });
      const splits = await source.discoverSplits({ parallelism: 1 });
      assert.deepEqual(
        splits.map((s) => s.id),
        [join(dir, 'a/x.jsonl'), join(dir, 'b.jsonl'), join(dir, 'c/d/e.json')],
      );
      assert.deepEqual(splits[0]!.position, { fileSize: 2, finished: false, byteOffset: 0, lineNumber: 1 });
      assert.equal(source.bounded, true);
      assert.deepEqual((await readAll(source)).values, [1, 2, 3]);
    });

    it('names a bad line by file and line: a dead letter by default, the job failure with onPoisonRecord "fail"', async () => {
      const dir = folderWith({ 'a.jsonl': '{"ok":1}\n{broken\n{"ok":2}\n' + `{"pad":"${'x'.repeat(100)}"}\n{"ok":3}` });
      const path = join(dir, 'a.jsonl');
      const out = await readAll(new FileSource({ paths: [dir], format: new JsonLinesInputFormat(), maxRecordBytes: 50, readChunkBytes: 8 }));
      assert.deepEqual(out.values, [{ ok: 1 }, { ok: 2 }, { ok: 3 }]);
      assert.deepEqual(out.letters.map((l) => l.position), [`${path}:2`, `${path}:4`]);
      assert.equal(out.letters[0]!.raw, '{broken');
      assert.match(out.letters[0]!.reason, /^FileSource "FileSource": invalid JSON: /);
      assert.match(out.letters[1]!.reason, /record of 110 bytes exceeds maxRecordBytes \(50\)/);
      assert.ok(out.letters[1]!.raw.startsWith('{"pad":"xxx'));

      const failing = new FileSource({ paths: [dir], format: new JsonLinesInputFormat(), onPoisonRecord: 'fail', name: 'orders' });
      await assert.rejects(readAll(failing), (error: Error) => {
        assert.ok(error instanceof RecordDeserializationError);
        assert.equal(error.message.startsWith(`FileSource "orders": the record at ${path}:2 cannot be read: invalid JSON`), true, error.message);
        return true;
      });
    });

    it('hands each line and its origin to deserialize', async () => {
      const dir = folderWith({ 'a.txt': 'a,1\nb,2\n' });
      const origins: unknown[] = [];
      const format = new JsonLinesInputFormat<string>({
        deserialize: (line, origin) => {
          origins.push(origin);
          return line.toUpperCase();
        },
      });
      assert.deepEqual((await readAll(new FileSource({ paths: [dir], format }))).values, ['A,1', 'B,2']);
      assert.deepEqual(origins[1], { path: join(dir, 'a.txt'), byteOffset: 4, lineNumber: 2 });
    });
  });

  describe('CSV', () => {
    it('parses RFC 4180 fields', () => {
      assert.deepEqual(parseCsvFields('a,"b,c","d""e",,"f\ng"', ',', '"'), ['a', 'b,c', 'd"e', '', 'f\ng']);
      assert.deepEqual(parseCsvFields('', ',', '"'), ['']);
      assert.deepEqual(parseCsvFields('x;"y";', ';', '"'), ['x', 'y', '']);
      assert.throws(() => parseCsvFields('a,"b', ',', '"'), /field 2 opens a quote that is never closed/);
      assert.throws(() => parseCsvFields('"a"b,c', ',', '"'), /field 1 has "b" after its closing quote/);
    });

    it('reads rows named by the header, with quoted delimiters, line ends and quotes, typed columns, CRLF', async () => {
      const content = 'id,name,score,active\r\n1,plain,1.5,true\r\n2,"with, comma",,false\r\n3,"two\nlines and ""quotes""",-2,TRUE\n\n4,last,1e3,false';
      const dir = folderWith({ 'a.csv': content });
      const format = new CsvReaderFormat({ types: { id: 'number', score: 'number', active: 'boolean' } });
      const expected = [
        { id: 1, name: 'plain', score: 1.5, active: true },
        { id: 2, name: 'with, comma', score: null, active: false },
        { id: 3, name: 'two\nlines and "quotes"', score: -2, active: true },
        { id: 4, name: 'last', score: 1000, active: false },
      ];
      for (const readChunkBytes of [1, 2, 5, 1 << 20]) {
        const out = await readAll(new FileSource({ paths: [dir], format, readChunkBytes }), { maxRecords: 3 });
        assert.deepEqual(out.values, expected, `readChunkBytes ${readChunkBytes}`);
        assert.deepEqual(out.letters, []);
      }
    });

    it('names a row with the wrong number of fields, a malformed quote or a wrong type by file and line, counting lines inside quoted fields', async () => {
      const content = ['id,name', '1,a', '2,"multi', 'line"', '3', '4,b,extra', '5,"x"y', 'six,c', '7,"never closed'].join('\n');
      const dir = folderWith({ 'bad.csv': content });
      const path = join(dir, 'bad.csv');
      const out = await readAll(new FileSource({ paths: [dir], format: new CsvReaderFormat({ types: { id: 'number' } }) }));
      assert.deepEqual(out.values, [
        { id: 1, name: 'a' },
        { id: 2, name: 'multi\nline' },
      ]);
      assert.deepEqual(
        out.letters.map((l) => [l.position, l.raw, l.reason.replace(/^FileSource "FileSource": /, '')]),
        [
          [`${path}:5`, '3', 'row has 1 fields, expected 2 (id, name)'],
          [`${path}:6`, '4,b,extra', 'row has 3 fields, expected 2 (id, name)'],
          [`${path}:7`, '5,"x"y', 'field 2 has "y" after its closing quote (expected "," or the end of the row)'],
          [`${path}:8`, 'six,c', 'column "id": "six" is not a number'],
          [`${path}:9`, '7,"never closed', 'field 2 opens a quote that is never closed'],
        ],
      );
    });

    it('reads files without a header when given the columns, and converts rows', async () => {
      const dir = folderWith({ 'a.csv': '1;x\n2;y\n' });
      const format = new CsvReaderFormat<string>({ header: false, columns: ['n', 's'], delimiter: ';', convert: (row, origin) => `${row.s as string}${row.n as string}@${origin.lineNumber}` });
      assert.deepEqual((await readAll(new FileSource({ paths: [dir], format }))).values, ['x1@1', 'y2@2']);
    });

    it('rejects a whole file whose header cannot name the columns', async () => {
      const dir = folderWith({ 'a.csv': 'id,id\n1,2\n', 'b.csv': 'id\n7\n' });
      const out = await readAll(new FileSource({ paths: [dir], format: new CsvReaderFormat() }));
      assert.deepEqual(out.values, [{ id: '7' }]);
      assert.deepEqual(out.letters.map((l) => l.position), [`${join(dir, 'a.csv')}:1`]);
      assert.match(out.letters[0]!.reason, /unreadable CSV file \(the rest of it is not read\): bad header: column "id" appears twice$/);
      assert.deepEqual(out.finished, [0, 1]);
    });
  });

  describe('Parquet', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: i, name: `name ${i}`, score: i % 4 === 0 ? null : i / 2 }));

    it('reads every row of every row group, through small ranged reads', async () => {
      const dir = folderWith({ 'a.parquet': parquetFile(rows.slice(0, 30), 7), 'b.parquet': parquetFile(rows.slice(30), 100) });
      for (const maxRecords of [1, 4, 1000]) {
        const out = await readAll(new FileSource({ paths: [dir], format: new ParquetInputFormat(), readChunkBytes: 16 }), { maxRecords });
        assert.deepEqual(out.values, rows);
        assert.deepEqual(out.finished, [0, 1]);
      }
      const some = await readAll(new FileSource({ paths: [dir], format: new ParquetInputFormat({ columns: ['id'], convert: (row, origin) => `${row.id as number}@${origin.rowIndex}` }) }));
      assert.equal(some.values[31], '31@1');
    });

    it('names an unreadable file, a missing column and a row convert throws on', async () => {
      const dir = folderWith({ 'a.parquet': parquetFile(rows.slice(0, 3), 2), 'broken.parquet': 'PAR1 this is not parquet at all PAR1', 'c.parquet': parquetFile(rows.slice(3, 5), 2) });
      const out = await readAll(new FileSource({ paths: [dir], format: new ParquetInputFormat({ convert: (row) => { if (row.id === 1) throw new Error('no ones'); return row; } }) }));
      assert.deepEqual(out.values.map((r) => (r as { id: number }).id), [0, 2, 3, 4]);
      assert.deepEqual(out.letters.map((l) => l.position), [`${join(dir, 'a.parquet')}:row 1`, join(dir, 'broken.parquet')]);
      assert.match(out.letters[0]!.reason, /convert threw: no ones/);
      assert.equal(out.letters[0]!.raw, '{"id":1,"name":"name 1","score":0.5}');
      assert.match(out.letters[1]!.reason, /unreadable Parquet file \(the rest of it is not read\): not a readable Parquet file \(36 bytes\): .+$/);

      const failing = new FileSource({ paths: [join(dir, 'broken.parquet')], format: new ParquetInputFormat(), onPoisonRecord: 'fail' });
      await assert.rejects(readAll(failing), new RegExp(`the record at ${join(dir, 'broken.parquet')} cannot be read: unreadable Parquet file \\(the rest of it is not read\\): not a readable Parquet file`));
      const missing = new FileSource({ paths: [join(dir, 'a.parquet')], format: new ParquetInputFormat({ columns: ['id', 'nope'] }), onPoisonRecord: 'fail' });
      await assert.rejects(readAll(missing), /it has no column nope \(setting columns\)/);
    });
  });

  describe('restored from the snapshot after any record', () => {
    const csvRows = Array.from({ length: 40 }, (_, i) => `${i},"name ${i}${i % 6 === 0 ? '\nsecond line' : ''}",${i % 9 === 0 ? 'oops' : i * 2}`);
    const cases: Array<{ name: string; files: () => Record<string, string | Uint8Array>; options: Omit<FileSourceOptions<unknown>, 'paths'> }> = [
      {
        name: 'JSON lines',
        files: () => ({
          'a.jsonl': Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? '{bad' : JSON.stringify({ i, s: 'é'.repeat(i % 4) }))).join('\r\n'),
          'b.jsonl': '\n{"b":1}\n\n{"b":2}\n',
        }),
        options: { format: new JsonLinesInputFormat(), readChunkBytes: 5 },
      },
      {
        name: 'CSV with a header and rows over several lines',
        files: () => ({ 'a.csv': `id,name,n\n${csvRows.join('\n')}\n`, 'b.csv': '\n\nid,name,n\n99,x,1\n' }),
        options: { format: new CsvReaderFormat({ types: { id: 'number', n: 'number' } }), readChunkBytes: 7 },
      },
      {
        name: 'Parquet',
        files: () => ({
          'a.parquet': parquetFile(Array.from({ length: 23 }, (_, i) => ({ id: i, name: `n${i}`, score: i })), 5),
          'b.parquet': parquetFile([{ id: 100, name: 'x', score: null }], 5),
        }),
        options: { format: new ParquetInputFormat() },
      },
    ];
    for (const { name, files, options } of cases) {
      it(`${name}: the rest, nothing lost and nothing twice`, async () => {
        const dir = folderWith(files());
        const source = new FileSource({ ...options, paths: [dir] });
        const full = await readAll(source);
        assert.ok(full.values.length > 20);
        const { output, snapshots } = await snapshotsWhileReading(source);
        assert.deepEqual(output.values, full.values);
        assert.deepEqual(output.letters, full.letters);
        let insideAFile = 0;
        for (const snapshot of snapshots) {
          const position = snapshot.splits[0]!.position as { byteOffset?: number; rowIndex?: number; fileSize: number; finished: boolean };
          if (!position.finished && ((position.byteOffset ?? 0) > 0 || (position.rowIndex ?? 0) > 0)) insideAFile++;
          const rest = await readAll(new FileSource({ ...options, paths: [dir] }), { splits: snapshot.splits, maxRecords: 3 });
          const at = `from ${JSON.stringify(snapshot.splits)}`;
          assert.deepEqual(rest.values, full.values.slice(snapshot.values), at);
          assert.deepEqual(rest.letters, full.letters.slice(snapshot.letters), at);
        }
        assert.ok(insideAFile > 10, `${insideAFile} snapshots inside the first file`);
      });
    }

    it('refuses a position beyond a file that shrank, naming it', async () => {
      const dir = folderWith({ 'a.jsonl': '1\n2\n' });
      const path = join(dir, 'a.jsonl');
      const reader = new FileSource({ paths: [dir], format: new JsonLinesInputFormat() }).createReader(readerContext());
      reader.addSplits([{ id: path, position: { fileSize: 100, finished: false, byteOffset: 2, lineNumber: 2 } }]);
      await assert.rejects(Promise.resolve(reader.poll(new RecordingOutput(), 10)), new RegExp(`${path} ends at byte 4, before the 100 bytes it had when it was found`));
      await reader.close();
      assert.throws(() => reader.addSplits([{ id: path, position: { fileSize: 4, finished: false, line: 3 } }]), /expected \{ byteOffset from 0 to fileSize, lineNumber >= 1 \}/);
    });
  });

  it('validates its options, naming the field', () => {
    const format = new JsonLinesInputFormat();
    const bad: Array<[() => unknown, RegExp]> = [
      [() => new FileSource({ paths: [], format }), /^paths: must be a non-empty array/],
      [() => new FileSource({ paths: ['gs://bucket/x'], format }), /^paths\[0\]: "gs:\/\/bucket\/x": unknown scheme/],
      [() => new FileSource({ paths: ['s3://A_B/x'], format }), /^paths\[0\]: .* is not an S3 bucket name/],
      [() => new FileSource({ paths: ['x'], format: {} as never }), /^format: must be a file format/],
      [() => new FileSource({ paths: ['x'], format, monitorIntervalMs: 0 }), /^monitorIntervalMs: must be a positive integer/],
      [() => new FileSource({ paths: ['x'], format, onPoisonRecord: 'skip' as never }), /^onPoisonRecord: a FileSource does not drop bad input silently/],
      [() => new FileSource({ paths: ['x'], format, endpoint: 'nope' }), /^endpoint: must be an http\(s\) URL/],
      [() => new FileSource({ paths: ['x'], format, path: 'y' } as never), /^path: is not a FileSource option/],
      [() => new CsvReaderFormat({ header: false }), /^columns: names the columns when header is false/],
      [() => new CsvReaderFormat({ columns: ['a', 'a'] }), /^columns: column "a" appears twice/],
      [() => new CsvReaderFormat({ delimiter: '\n' }), /^delimiter: /],
      [() => new CsvReaderFormat({ quote: ',' }), /^quote: /],
      [() => new CsvReaderFormat({ columns: ['a'], types: { b: 'number' } }), /^types\.b: is not one of the columns/],
      [() => new CsvReaderFormat({ types: { a: 'date' as never } }), /^types\.a: must be one of string, number, boolean/],
      [() => new ParquetInputFormat({ columns: [] }), /^columns: /],
    ];
    for (const [create, message] of bad) assert.throws(create, { name: 'ConfigurationError', message });
  });

  it('names a path that does not exist', async () => {
    const missing = join(root, 'missing');
    await assert.rejects(new FileSource({ paths: [missing], format: new JsonLinesInputFormat() }).discoverSplits({ parallelism: 1 }), {
      name: 'ConfigurationError',
      message: `paths: FileSource "FileSource": ${missing} does not exist`,
    });
  });
});
