// `npm run bench -- nexmark`: the same Nexmark queries on Sluice (embedded) and on Apache Flink
// (a local MiniCluster, benchmarks/flink-baseline), on the same machine in the same run. First
// both engines compute checksums of the events and of each query's results; a query whose
// checksums differ is not timed (the engines would not be doing the same work). Then timed runs
// alternate between the engines, several rounds, each in a fresh process, and a table gives
// events/s, events per CPU-second of the whole process (startup included), the ratio and peak
// memory. The figures also go to benchmarks/results/nexmark-<time>.json.

import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { runMeasured, type MeasuredRun } from '../measured-process.ts';
import { QUERIES } from './queries.ts';

const root = new URL('../..', import.meta.url).pathname;
const flinkDirectory = join(root, 'benchmarks/flink-baseline');

export async function compareEngines(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      queries: { type: 'string', default: 'q0,q1,q2,q5' },
      events: { type: 'string', default: '5000000' },
      'checksum-events': { type: 'string', default: '1000000' },
      rounds: { type: 'string', default: '3' },
      parallelism: { type: 'string', default: '1' },
    },
  });
  const queries = values.queries.split(',');
  for (const q of queries) if (!(QUERIES as readonly string[]).includes(q)) throw new Error(`--queries: unknown query ${q}; known: ${QUERIES.join(', ')}`);
  const rounds = Number(values.rounds);
  const parallelism = Number(values.parallelism);
  const jar = await flinkJar();

  const sluiceArgs = (query: string, checksum: boolean, events: string) =>
    checksum
      ? ['--import', 'tsx', join(root, 'benchmarks/flink-baseline/sluice-checksum.ts'), '--query', query, '--events', events]
      : ['--import', 'tsx', join(root, 'benchmarks/nexmark/run-query.ts'), '--query', query, '--events', events];
  const flinkArgs = (query: string, checksum: boolean, events: string) => [
    '-jar', jar, '--query', query, '--events', events, '--parallelism', String(parallelism), ...(checksum ? ['--checksum'] : []),
  ];
  const run = async (engine: 'sluice' | 'flink', query: string, checksum: boolean, events: string) => {
    const measured = await runMeasured(engine === 'sluice' ? process.execPath : 'java', engine === 'sluice' ? sluiceArgs(query, checksum, events) : flinkArgs(query, checksum, events), {
      cwd: root,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
      timeoutMs: 15 * 60_000,
    });
    if (measured.code !== 0) throw new Error(`${engine} ${query} failed (exit ${measured.code}):\n${measured.stderr.slice(-2000)}`);
    const report = JSON.parse(measured.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    return { measured, report };
  };

  // 1. checksums
  const comparable: string[] = [];
  const checksums: Record<string, unknown> = {};
  for (const query of queries) {
    process.stderr.write(`checksums ${query} (${values['checksum-events']} events) … `);
    const s = (await run('sluice', query, true, values['checksum-events'])).report;
    const f = (await run('flink', query, true, values['checksum-events'])).report;
    const same = s.eventsChecksum === f.eventsChecksum && s.outputChecksum === f.outputChecksum && s.outputCount === f.outputCount;
    checksums[query] = { sluice: s, flink: f, same };
    process.stderr.write(same ? `equal (${s.outputCount} results)\n` : `DIFFERENT: sluice ${JSON.stringify(s)} flink ${JSON.stringify(f)}\n`);
    if (same) comparable.push(query);
  }

  // 2. timed runs, alternating
  type Timed = { engine: string; query: string; round: number; eventsPerSecond: number; eventsPerCpuSecond: number; peakRssBytes: number; measured: MeasuredRun };
  const timed: Timed[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const query of comparable) {
      for (const engine of round % 2 === 1 ? (['sluice', 'flink'] as const) : (['flink', 'sluice'] as const)) {
        process.stderr.write(`round ${round}/${rounds}: ${query} on ${engine} … `);
        const { measured, report } = await run(engine, query, false, values.events);
        const events = Number(values.events);
        const t: Timed = {
          engine,
          query,
          round,
          eventsPerSecond: Number(report.eventsPerSecond),
          eventsPerCpuSecond: events / measured.cpuSeconds,
          peakRssBytes: measured.peakRssBytes,
          measured,
        };
        timed.push(t);
        process.stderr.write(`${(t.eventsPerSecond / 1e6).toFixed(2)} M events/s, ${(t.eventsPerCpuSecond / 1e6).toFixed(2)} M events per CPU-second\n`);
      }
    }
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const k = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} K`);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, ${javaVersion()}`;
  console.log(`\nNexmark, ${values.events} events per run, ${rounds} rounds alternating, Sluice embedded (one thread) vs Flink MiniCluster at parallelism ${parallelism} (${machine})\n`);
  console.log('| query | Sluice events/s (median, min–max) | Flink events/s (median, min–max) | ratio | Sluice / Flink events per CPU-second | ratio | peak RSS Sluice / Flink |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const rows = [];
  for (const query of queries) {
    if (!comparable.includes(query)) {
      console.log(`| ${query} | — | — | checksums differ: not compared | | | |`);
      continue;
    }
    const side = (engine: string) => timed.filter((t) => t.engine === engine && t.query === query);
    const stats = (engine: string) => {
      const ts = side(engine);
      const rate = ts.map((t) => t.eventsPerSecond);
      return {
        median: median(rate),
        min: Math.min(...rate),
        max: Math.max(...rate),
        perCpu: median(ts.map((t) => t.eventsPerCpuSecond)),
        peakRss: Math.max(...ts.map((t) => t.peakRssBytes)),
      };
    };
    const s = stats('sluice');
    const f = stats('flink');
    rows.push({ query, sluice: s, flink: f, ratio: s.median / f.median, cpuRatio: s.perCpu / f.perCpu });
    console.log(
      `| ${query} | ${k(s.median)} (${k(s.min)}–${k(s.max)}) | ${k(f.median)} (${k(f.min)}–${k(f.max)}) | ${(s.median / f.median).toFixed(2)}× | ` +
        `${k(s.perCpu)} / ${k(f.perCpu)} | ${(s.perCpu / f.perCpu).toFixed(2)}× | ${(s.peakRss / 2 ** 20).toFixed(0)} / ${(f.peakRss / 2 ** 20).toFixed(0)} MiB |`,
    );
  }
  mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
  const file = join(root, 'benchmarks/results', `nexmark-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine, events: Number(values.events), rounds, parallelism, checksums, rows, timed: timed.map(({ measured, ...t }) => ({ ...t, cpuSeconds: measured.cpuSeconds, wallSeconds: measured.wallSeconds })) }, null, 2));
  console.log(`\nwritten to ${file}`);
}

function javaVersion(): string {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return (r.stderr.split('\n')[0] ?? 'java').trim();
}

/** The Flink baseline's jar, built first if missing. */
async function flinkJar(): Promise<string> {
  const target = join(flinkDirectory, 'target');
  const find = () =>
    existsSync(target)
      ? readdirSync(target)
          .filter((f) => f.endsWith('.jar') && !f.startsWith('original-'))
          .map((f) => join(target, f))
          .sort((a, b) => statSync(b).size - statSync(a).size)[0]
      : undefined;
  let jar = find();
  if (!jar) {
    process.stderr.write('building the Flink baseline (benchmarks/flink-baseline/build.sh; the first build downloads Flink from Maven Central) …\n');
    const build = spawnSync('bash', [join(flinkDirectory, 'build.sh')], { cwd: flinkDirectory, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('the Flink baseline did not build; see the output above');
    jar = find();
  }
  if (!jar) throw new Error(`no jar in ${target} after the build`);
  return jar;
}
