// `npm run bench -- embedded [options]`: Nexmark queries on the embedded engine, each run in a
// fresh process, several rounds alternating queries and backends; prints events/s (median,
// min–max) per query and backend, and writes the same to benchmarks/results/embedded-<time>.json.

import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { QUERIES, STATELESS_QUERIES } from './queries.ts';

const root = new URL('../..', import.meta.url).pathname;
const STATELESS: ReadonlySet<string> = new Set(STATELESS_QUERIES);

export async function benchmarkEmbedded(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      queries: { type: 'string', default: QUERIES.join(',') },
      backends: { type: 'string', default: 'memory,leveldb' },
      events: { type: 'string', default: '5000000' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const queries = values.queries.split(',');
  const backends = values.backends.split(',');
  const rounds = Number(values.rounds);

  interface Run {
    query: string;
    backend: string;
    events: number;
    seconds: number;
    eventsPerSecond: number;
    results: number;
    peakRssBytes: number;
  }

  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const query of queries) {
      for (const backend of backends) {
        // Stateless queries do not touch the backend: one run is enough.
        if (STATELESS.has(query) && backend !== backends[0]) continue;
        process.stderr.write(`round ${round}/${rounds}: ${query} on ${backend} … `);
        const child = spawnSync(
          process.execPath,
          ['--import', 'tsx', join(root, 'benchmarks/nexmark/run-query.ts'), '--query', query, '--backend', backend, '--events', values.events],
          { cwd: root, encoding: 'utf8', env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' } },
        );
        if (child.status !== 0) {
          process.stderr.write('failed\n');
          throw new Error(`${query} on ${backend} failed:\n${child.stderr}`);
        }
        const run = JSON.parse(child.stdout.trim().split('\n').pop()!) as Run;
        runs.push(run);
        process.stderr.write(`${(run.eventsPerSecond / 1e6).toFixed(2)} M events/s\n`);
      }
    }
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const rows = [];
  for (const query of queries) {
    for (const backend of backends) {
      const these = runs.filter((r) => r.query === query && r.backend === backend);
      if (these.length === 0) continue;
      const rates = these.map((r) => r.eventsPerSecond);
      rows.push({
        query,
        backend: STATELESS.has(query) ? 'any (stateless)' : backend,
        medianEventsPerSecond: median(rates),
        minEventsPerSecond: Math.min(...rates),
        maxEventsPerSecond: Math.max(...rates),
        peakRssMiB: Math.max(...these.map((r) => r.peakRssBytes)) / 2 ** 20,
        results: these[0]!.results,
      });
    }
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}`;
  console.log(`\nNexmark on the embedded engine, ${values.events} events per run, ${rounds} rounds, one core (${machine})\n`);
  console.log('| query | state backend | events/s (median) | min – max | peak RSS | results |');
  console.log('|---|---|---:|---:|---:|---:|');
  const m = (n: number) => `${(n / 1e6).toFixed(2)} M`;
  for (const r of rows) {
    console.log(`| ${r.query} | ${r.backend} | ${m(r.medianEventsPerSecond)} | ${m(r.minEventsPerSecond)} – ${m(r.maxEventsPerSecond)} | ${r.peakRssMiB.toFixed(0)} MiB | ${r.results} |`);
  }
  mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
  const file = join(root, 'benchmarks/results', `embedded-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine, events: Number(values.events), rounds, rows, runs }, null, 2));
  console.log(`\nwritten to ${file}`);
}
