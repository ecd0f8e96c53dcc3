// FileSource jobs on the embedded executor, on local folders: a bounded job per format finishes
// with every record once; a job that fails with a checkpoint inside its files, restored (at the
// same and at another parallelism), commits what the uninterrupted run does — lost and doubled
// counted; a monitoring job picks up files added while it runs, while it is down and after its
// restore, each exactly once.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SplitState } from '../../../shared/api/connectors.ts';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { InMemoryCheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../../runtime/embedded-executor.ts';
import { runEmbedded } from '../../testing/embedded-harness.ts';
import { CollectSink } from '../collect-sink.ts';
import { CsvReaderFormat, FileSource, JsonLinesInputFormat, ParquetInputFormat, type FileFormat, type TextFilePosition } from './index.ts';
import { countLostAndDoubled, parquetFile } from './testing-file-source.ts';

interface Row {
  readonly id: number;
}

/** `FileSource` whose readers report the splits a run gave them: a restore's are the checkpoint's. */
function observedSource(source: FileSource<Row>, given: SplitState[]): FileSource<Row> {
  const createReader = source.createReader.bind(source);
  source.createReader = (context) => {
    const reader = createReader(context);
    const addSplits = reader.addSplits.bind(reader);
    reader.addSplits = (splits) => {
      given.push(...splits);
      return addSplits(splits);
    };
    return reader;
  };
  return source;
}

function executorOptions(storage: InMemoryCheckpointStorage): EmbeddedExecutorOptions {
  return {
    jobName: 'file-source-job',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: storage,
    deadLetters: new InMemoryDeadLetterOutput(),
    checkpointIntervalMs: 0, // back to back: checkpoints land inside the files
    sourceBatchSize: 7,
  };
}

describe('FileSource jobs', () => {
  let root: string;
  let cases = 0;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sluice-file-job-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  function emptyFolder(): string {
    const dir = join(root, `case-${cases++}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Ids [from, to) as JSON lines, written under a hidden name and renamed into place. */
  function addJsonLines(dir: string, name: string, from: number, to: number): number[] {
    const ids = Array.from({ length: to - from }, (_, i) => from + i);
    writeFileSync(join(dir, `.${name}`), ids.map((id) => JSON.stringify({ id, pad: 'x'.repeat(id % 13) })).join('\n') + '\n');
    renameSync(join(dir, `.${name}`), join(dir, name));
    return ids;
  }

  const formats: Array<{ name: string; format: () => FileFormat<Row>; write: (dir: string, file: number, ids: number[]) => void }> = [
    { name: 'JSON lines', format: () => new JsonLinesInputFormat<Row>(), write: (dir, file, ids) => void addJsonLines(dir, `f${file}.jsonl`, ids[0]!, ids[ids.length - 1]! + 1) },
    {
      name: 'CSV',
      format: () => new CsvReaderFormat<Row>({ types: { id: 'number' } }),
      write: (dir, file, ids) => writeFileSync(join(dir, `f${file}.csv`), `id,text\n${ids.map((id) => `${id},"line ${id}${id % 10 === 0 ? '\nwith a line end' : ''}"`).join('\n')}\n`),
    },
    {
      name: 'Parquet',
      format: () => new ParquetInputFormat<Row>({ convert: (row) => ({ id: row.id as number }) }),
      write: (dir, file, ids) => writeFileSync(join(dir, `f${file}.parquet`), parquetFile(ids.map((id) => ({ id, name: `n${id}`, score: id })), 50)),
    },
  ];

  for (const { name, format, write } of formats) {
    it(`${name}: a bounded job at parallelism 2 finishes with every record once`, async () => {
      const dir = emptyFolder();
      const expected: number[] = [];
      for (let file = 0; file < 3; file++) {
        const ids = Array.from({ length: 120 }, (_, i) => file * 120 + i);
        write(dir, file, ids);
        expected.push(...ids);
      }
      const env = new StreamExecutionEnvironment().setParallelism(2);
      const sink = new CollectSink<number>();
      env.fromSource(new FileSource({ paths: [dir], format: format() }), WatermarkStrategy.noWatermarks(), 'files').map((r) => r.id).sinkTo(sink);
      const result = await runEmbedded(env, { sourceBatchSize: 16 });
      assert.equal(result.state, 'finished');
      assert.deepEqual([...sink.values].sort((a, b) => a - b), expected);
      assert.equal(result.deadLetters.letters.length, 0);
    });
  }

  for (const restoreParallelism of [2, 3]) {
    it(`fails with checkpoints inside its files, and restored at parallelism ${restoreParallelism} commits what the uninterrupted run does`, async () => {
      const dir = emptyFolder();
      for (let file = 0; file < 3; file++) addJsonLines(dir, `f${file}.jsonl`, file * 1000, (file + 1) * 1000);
      const build = (parallelism: number, sink: CollectSink<number>, given: SplitState[], failAfter?: number) => {
        let processed = 0;
        const env = new StreamExecutionEnvironment().setParallelism(parallelism);
        env
          .fromSource(observedSource(new FileSource<Row>({ paths: [dir], format: new JsonLinesInputFormat(), readChunkBytes: 256 }), given), WatermarkStrategy.noWatermarks(), 'files')
          .uid('files')
          .map((r) => {
            if (failAfter !== undefined && ++processed > failAfter) throw new Error(`injected failure after ${failAfter} records`);
            return r.id;
          })
          .uid('ids')
          .sinkTo(sink)
          .uid('sink');
        return env;
      };

      const uninterrupted = new CollectSink<number>();
      assert.equal((await runEmbedded(build(2, uninterrupted, []), { sourceBatchSize: 7 })).state, 'finished');
      assert.equal(uninterrupted.values.length, 3000);

      const storage = new InMemoryCheckpointStorage();
      const sink = new CollectSink<number>();
      const failing = await EmbeddedExecutor.create(build(2, sink, [], 1500), executorOptions(storage));
      await assert.rejects(failing.run(), /injected failure after 1500 records/);
      const committedAtFailure = sink.values.length;
      assert.ok(committedAtFailure > 0 && committedAtFailure < 3000, `${committedAtFailure} committed before the failure`);

      const ids = await storage.listCompleted();
      const restoredSplits: SplitState[] = [];
      const restored = await EmbeddedExecutor.create(build(restoreParallelism, sink, restoredSplits), {
        ...executorOptions(storage),
        restore: { storage, checkpointId: ids[ids.length - 1]! },
      });
      assert.equal((await restored.run()).state, 'finished');

      const inside = restoredSplits.filter((s) => {
        const p = s.position as TextFilePosition;
        return p.byteOffset > 0 && p.byteOffset < p.fileSize;
      });
      assert.ok(inside.length > 0, `the restore resumes inside a file: ${JSON.stringify(restoredSplits)}`);
      assert.deepEqual(countLostAndDoubled(sink.values, uninterrupted.values), { lost: 0, doubled: 0 });
      assert.deepEqual([...sink.values].sort((a, b) => a - b), [...uninterrupted.values].sort((a, b) => a - b));
    });
  }

  it('monitoring: files added while it runs, while it is down and after a restore at another parallelism are each read once', async () => {
    const dir = emptyFolder();
    const expected = addJsonLines(dir, 'a.jsonl', 0, 100);
    const sink = new CollectSink<number>();
    const storage = new InMemoryCheckpointStorage();
    let armed = true;
    const build = (parallelism: number, source: FileSource<Row>) => {
      const env = new StreamExecutionEnvironment().setParallelism(parallelism);
      env
        .fromSource(source, WatermarkStrategy.noWatermarks(), 'files')
        .uid('files')
        .map((r) => {
          if (armed && r.id === 250) throw new Error('injected failure at record 250');
          return r.id;
        })
        .uid('ids')
        .sinkTo(sink)
        .uid('sink');
      return env;
    };
    const committed = (count: number) => () => sink.values.length >= count;
    const monitoring = () => new FileSource<Row>({ paths: [dir], format: new JsonLinesInputFormat(), monitorIntervalMs: 10 });

    const first = await EmbeddedExecutor.create(build(2, monitoring()), executorOptions(storage));
    const running = first.run();
    running.catch(() => {}); // awaited below
    await waitFor('file a committed', 20_000, committed(100));
    expected.push(...addJsonLines(dir, 'b.jsonl', 100, 200));
    await waitFor('file b committed', 20_000, committed(200));
    expected.push(...addJsonLines(dir, 'c.jsonl', 200, 300));
    await assert.rejects(running, /injected failure at record 250/);

    expected.push(...addJsonLines(dir, 'd.jsonl', 300, 350)); // while the job is down
    armed = false;
    const ids = await storage.listCompleted();
    const source = monitoring();
    const restored = await EmbeddedExecutor.create(build(3, source), { ...executorOptions(storage), restore: { storage, checkpointId: ids[ids.length - 1]! } });
    const restoredRun = restored.run();
    await waitFor(() => `c and d committed (${sink.values.length} of 350)`, 20_000, () => new Set(sink.values).size >= 350);
    expected.push(...addJsonLines(dir, 'e.jsonl', 350, 400));
    await waitFor(() => `e committed (${sink.values.length} of 400)`, 20_000, () => new Set(sink.values).size >= 400);
    // Every discovery split lists the folder again a few times: nothing may come twice.
    const listings = source.counters().listings;
    await waitFor('three more listings by each discovery split', 20_000, () => source.counters().listings >= listings + 3 * 2);
    restored.stop();
    assert.equal((await restoredRun).state, 'stopped');
    assert.deepEqual(countLostAndDoubled(sink.values, expected), { lost: 0, doubled: 0 });
    assert.equal(sink.values.length, 400);
  });
});
