// Measures the JSON Lines file connectors on one core: the reader alone (parse included), the
// writer alone (serialize included), and a whole embedded job file → map → file.
// Run: node --import tsx worker/connectors/files/files.bench.ts [lines]

import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceOutput } from '../../../shared/api/connectors.ts';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import { runEmbedded } from '../../testing/embedded-harness.ts';
import { JsonLinesFileSink, JsonLinesFileSource } from './index.ts';

interface Item {
  id: number;
  name: string;
  price: number;
}

const totalLines = Number(process.argv[2] ?? 1_000_000);
const root = mkdtempSync(join(tmpdir(), 'sluice-files-bench-'));

function report(label: string, lines: number, startNs: bigint, bytes?: number): void {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  const mb = bytes === undefined ? '' : `, ${(bytes / seconds / 1e6).toFixed(0)} MB/s`;
  console.log(`${label}: ${lines.toLocaleString('en-US')} lines in ${seconds.toFixed(2)} s = ${(lines / seconds / 1e6).toFixed(2)} M lines/s${mb}`);
}

function directoryBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

async function main(): Promise<void> {
  const inputDir = join(root, 'in');
  mkdirSync(inputDir);
  const files = 4;
  const perFile = Math.ceil(totalLines / files);
  for (let f = 0; f < files; f++) {
    const lines: string[] = [];
    for (let i = f * perFile; i < Math.min(totalLines, (f + 1) * perFile); i++) lines.push(JSON.stringify({ id: i, name: `item-${i}`, price: (i % 1000) / 10 }));
    writeFileSync(join(inputDir, `in-${f}.jsonl`), lines.join('\n') + '\n');
  }
  const inputBytes = directoryBytes(inputDir);
  console.log(`input: ${totalLines.toLocaleString('en-US')} lines, ${(inputBytes / 1e6).toFixed(1)} MB in ${files} files`);

  // 1. The reader alone, with JSON.parse.
  for (const label of ['read (warm-up)', 'read']) {
    const source = new JsonLinesFileSource<Item>({ paths: [inputDir] });
    const reader = source.createReader();
    await reader.addSplits(await source.discoverSplits());
    let count = 0;
    let checksum = 0;
    const output: SourceOutput<Item> = {
      collect(value) {
        count++;
        checksum = (checksum + value.id) % 1_000_000_007;
      },
      deadLetter() {},
      finishSplit() {},
    };
    const start = process.hrtime.bigint();
    for (;;) if ((await reader.poll(output, 1024)) === 'end') break;
    await reader.close();
    report(label, count, start, inputBytes);
    if (count !== totalLines) throw new Error(`read ${count} lines, expected ${totalLines} [checksum ${checksum}]`);
  }

  // 2. The writer alone, with JSON.stringify, one checkpoint every 100 000 records.
  const items: Item[] = Array.from({ length: totalLines }, (_, i) => ({ id: i, name: `item-${i}`, price: (i % 1000) / 10 }));
  for (const label of ['write (warm-up)', 'write']) {
    const outputDir = join(root, `out-${label.replace(/\W/g, '')}`);
    const context = { subtaskIndex: 0, parallelism: 1, jobName: 'bench', job: { id: 'bench', submittedAtMs: 0 }, now: () => Date.now() };
    const writer = await new JsonLinesFileSink<Item>({ directory: outputDir }).createWriter(context, undefined);
    const start = process.hrtime.bigint();
    for (let i = 0; i < items.length; i++) {
      writer.write(items[i]!, 0);
      if ((i + 1) % 100_000 === 0) await writer.commit([await writer.prepareCommit(i)]);
    }
    const last = await writer.prepareCommit(items.length);
    if (last !== undefined) await writer.commit([last]);
    await writer.close();
    report(label, items.length, start, directoryBytes(outputDir));
  }

  // 3. A whole embedded job: file source → map → file sink, checkpoints every 500 ms.
  for (const parallelism of [1, 2]) {
    const outputDir = join(root, `job-${parallelism}`);
    const env = new StreamExecutionEnvironment().setParallelism(parallelism);
    env
      .fromSource(new JsonLinesFileSource<Item>({ paths: [inputDir] }), WatermarkStrategy.noWatermarks(), 'in')
      .map((item) => ({ ...item, price: item.price * 2 }))
      .sinkTo(new JsonLinesFileSink({ directory: outputDir }));
    const start = process.hrtime.bigint();
    const result = await runEmbedded(env, { checkpointIntervalMs: 500 });
    report(`job file → map → file, parallelism ${parallelism} (one core)`, result.status.recordsWritten, start);
  }
}

main()
  .finally(() => rmSync(root, { recursive: true, force: true }))
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
