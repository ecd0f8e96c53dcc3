// Runs one or more Nexmark queries on Sluice (sluice-checksum.ts) and on Flink (the jar's
// --checksum mode) and says whether they computed the same thing: the same events (events
// checksum) and the same results (output checksum and count).
//
//   node --import tsx benchmarks/flink-baseline/compare-checksums.ts --query q1 --events 200000
//   node --import tsx benchmarks/flink-baseline/compare-checksums.ts --query all --events 200000 --parallelism 2
//
// --query: a query, a comma-separated list, or "all". --parallelism: Flink's (default 1);
// --sluice-parallelism: Sluice's (default: its own default). --dump DIR: both sides also write
// their sorted canonical result lines to DIR/<query>.<engine>.txt, and the first differing lines
// are printed. Build the jar first (build.sh). Exits 1 if any query differs.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { QUERIES } from '../nexmark/queries.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const { values } = parseArgs({
  options: {
    query: { type: 'string', default: 'q1' },
    events: { type: 'string', default: '200000' },
    parallelism: { type: 'string', default: '1' },
    'sluice-parallelism': { type: 'string' },
    jar: { type: 'string', default: join(here, 'target', 'flink-nexmark.jar') },
    dump: { type: 'string' },
  },
});
const queries = values.query === 'all' ? [...QUERIES] : values.query!.split(',');
for (const q of queries) if (!(QUERIES as readonly string[]).includes(q)) throw new Error(`unknown query ${q}; one of ${QUERIES.join(', ')} or all`);
if (!existsSync(values.jar!)) throw new Error(`${values.jar} not found: run benchmarks/flink-baseline/build.sh first`);
if (values.dump !== undefined) mkdirSync(values.dump, { recursive: true });

interface ChecksumLine {
  eventsChecksum: string;
  outputChecksum: string;
  outputCount: number;
}

function lastJsonLine(stdout: string): ChecksumLine {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as ChecksumLine;
}

function run(command: string, args: string[]): { result: ChecksumLine; seconds: number } {
  const started = performance.now();
  const stdout = execFileSync(command, args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  return { result: lastJsonLine(stdout), seconds: (performance.now() - started) / 1000 };
}

function firstDifferences(query: string): void {
  const read = (engine: string): string[] => readFileSync(join(values.dump!, `${query}.${engine}.txt`), 'utf8').split('\n').filter((l) => l !== '');
  const sluice = read('sluice');
  const flink = read('flink');
  const flinkSet = new Set(flink);
  const sluiceSet = new Set(sluice);
  const onlySluice = sluice.filter((l) => !flinkSet.has(l)).slice(0, 10);
  const onlyFlink = flink.filter((l) => !sluiceSet.has(l)).slice(0, 10);
  console.log(`  lines only on Sluice (first ${onlySluice.length}):`);
  for (const l of onlySluice) console.log(`    ${l}`);
  console.log(`  lines only on Flink (first ${onlyFlink.length}):`);
  for (const l of onlyFlink) console.log(`    ${l}`);
}

let allEqual = true;
for (const query of queries) {
  const dumpArgs = (engine: string): string[] => (values.dump === undefined ? [] : ['--dump', join(values.dump, `${query}.${engine}.txt`)]);
  const sluiceArgs = ['--import', 'tsx', join(here, 'sluice-checksum.ts'), '--query', query, '--events', values.events!, ...dumpArgs('sluice')];
  if (values['sluice-parallelism'] !== undefined) sluiceArgs.push('--parallelism', values['sluice-parallelism']);
  const sluice = run(process.execPath, sluiceArgs);
  const flink = run('java', ['-jar', values.jar!, '--query', query, '--events', values.events!, '--parallelism', values.parallelism!, '--checksum', ...dumpArgs('flink')]);
  const eventsEqual = sluice.result.eventsChecksum === flink.result.eventsChecksum;
  const outputEqual = sluice.result.outputChecksum === flink.result.outputChecksum && sluice.result.outputCount === flink.result.outputCount;
  allEqual &&= eventsEqual && outputEqual;
  console.log(JSON.stringify({
    query,
    events: Number(values.events),
    flinkParallelism: Number(values.parallelism),
    eventsEqual,
    outputEqual,
    eventsChecksum: eventsEqual ? flink.result.eventsChecksum : { sluice: sluice.result.eventsChecksum, flink: flink.result.eventsChecksum },
    outputChecksum: { sluice: sluice.result.outputChecksum, flink: flink.result.outputChecksum },
    outputCount: { sluice: sluice.result.outputCount, flink: flink.result.outputCount },
    seconds: { sluice: Number(sluice.seconds.toFixed(1)), flink: Number(flink.seconds.toFixed(1)) },
  }));
  if (!outputEqual && values.dump !== undefined) firstDifferences(query);
}
console.log(allEqual ? 'EQUAL: every query computed the same events and results on both engines' : 'DIFFERENT: see above');
process.exitCode = allEqual ? 0 : 1;
