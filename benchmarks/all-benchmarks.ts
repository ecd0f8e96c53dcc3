// `npm run bench -- all`: every registered benchmark once, with quick settings, one after the
// other; then benchmarks/results/all-<time>.json with the headline figures of each, read from the
// JSON files the benchmark wrote during its step (each benchmark writes its own under
// benchmarks/results/; a file counts if it appeared during the step and has one of the step's
// result names, so someone else's benchmark run meanwhile is not mixed in). A step that fails is recorded with its error and the others still run;
// the exit code then says so.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { startServices } from './services.ts';

const root = new URL('..', import.meta.url).pathname;
const RESULTS = join(root, 'benchmarks/results');

export interface BenchmarkStep {
  /** What the summary calls it (a benchmark may run twice with different settings). */
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly services: readonly string[];
  /** The names of the files the step writes under benchmarks/results/, without the time stamp. */
  readonly results: readonly string[];
  readonly run: (args: string[]) => Promise<unknown>;
}

interface StepSummary {
  readonly label: string;
  readonly command: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly error?: string;
  readonly files: string[];
  readonly headline: Record<string, unknown>;
}

export async function runAll(steps: readonly BenchmarkStep[], skip: ReadonlySet<string>): Promise<boolean> {
  const started = new Date();
  const summaries: StepSummary[] = [];
  mkdirSync(RESULTS, { recursive: true });
  for (const step of steps) {
    if (skip.has(step.label)) {
      process.stderr.write(`\n=== ${step.label}: skipped (--skip)\n`);
      continue;
    }
    const command = `npm run bench -- ${step.command}`;
    process.stderr.write(`\n=== ${step.label}: ${command}\n`);
    const before = new Set(readdirSync(RESULTS));
    const t0 = performance.now();
    let error: string | undefined;
    try {
      startServices(step.services);
      await step.run([...step.args]);
    } catch (e) {
      error = (e as Error).stack ?? String(e);
      process.stderr.write(`=== ${step.label} FAILED: ${(e as Error).message}\n`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const files = readdirSync(RESULTS).filter((f) => !before.has(f) && step.results.includes(resultKind(f))).sort();
    const headline: Record<string, unknown> = {};
    for (const f of files) headline[f] = headlineOf(f, JSON.parse(readFileSync(join(RESULTS, f), 'utf8')));
    summaries.push({ label: step.label, command, ok: error === undefined, seconds, ...(error ? { error } : {}), files, headline });
    process.stderr.write(`=== ${step.label}: ${error ? 'failed' : 'done'} in ${seconds.toFixed(0)} s${files.length > 0 ? `, wrote ${files.join(', ')}` : ''}\n`);
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}`;
  const file = join(RESULTS, `all-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine, started: started.toISOString(), seconds: (Date.now() - started.getTime()) / 1000, steps: summaries }, null, 2));
  console.log('\nall benchmarks:');
  for (const s of summaries) console.log(`  ${s.ok ? 'ok    ' : 'FAILED'} ${s.label} (${s.seconds.toFixed(0)} s)${s.ok ? '' : `: ${s.error!.split('\n')[0]}`}`);
  console.log(`summary written to ${file}`);
  return summaries.every((s) => s.ok);
}

type Json = Record<string, any>;

/** A results file's name without its time stamp: `nexmark-cluster-2026-…Z.json` → `nexmark-cluster`. */
function resultKind(file: string): string {
  const match = /^(.+)-\d{4}-\d\d-\d\dT[\d-]+Z\.json$/.exec(file);
  return match ? match[1]! : '';
}

/** The figures worth a glance, by the kind of file. */
export function headlineOf(file: string, json: Json): Record<string, unknown> {
  const kind = resultKind(file);
  const rate = (n: number) => Math.round(n);
  switch (kind) {
    case 'embedded':
      return Object.fromEntries((json.rows as Json[]).map((r) => [`${r.query} ${r.backend}`, { eventsPerSecond: rate(r.medianEventsPerSecond) }]));
    case 'nexmark':
    case 'nexmark-cluster':
      return {
        mode: json.mode ?? 'embedded',
        parallelism: json.parallelism,
        ...(json.workers ? { workers: json.workers } : {}),
        ...Object.fromEntries(
          (json.rows as Json[]).map((r) => [
            r.query,
            {
              sluiceEventsPerSecond: rate(r.sluice.median),
              flinkEventsPerSecond: rate(r.flink.median),
              ratio: Number(r.ratio.toFixed(2)),
              perCpuRatio: Number(r.cpuRatio.toFixed(2)),
              checksum: r.checksum ?? 'equal',
              ...(r.latency ? { latencyP99Ms: { sluice: r.latency.sluice.p99Ms, flink: r.latency.flink.p99Ms } } : {}),
            },
          ]),
        ),
        ...Object.fromEntries(Object.entries((json.checksums ?? {}) as Json).filter(([, c]) => c.same === false).map(([q]) => [q, 'checksums differ: not compared'])),
      };
    case 'data-plane':
      return { recordsPerSecond: rate(json.throughput.recordsPerSecond), p99Ms: json.latency?.latency?.p99Ms, latencyRate: json.latencyRate };
    case 'recovery':
      return { medianMs: json.medianMs, timingsMs: json.timingsMs };
    case 'kafka':
      return { plainRecordsPerSecond: json.plainRecordsPerSecond, sluiceRecordsPerSecond: json.sluiceRecordsPerSecond, ratio: json.sluiceToPlainRatio };
    case 'kinesis':
      return { plainRecordsPerSecond: json.plainRecordsPerSecond, sluiceRecordsPerSecond: json.sluiceRecordsPerSecond, ratio: json.ratio };
    case 'state':
      return {
        stateMb: json.stateMb,
        fullCheckpointMs: json.fullCheckpoint?.durationMs,
        fullCheckpointThroughputDipPercent: json.fullCheckpoint?.dipPercent,
        incrementalCheckpointMs: json.incrementalCheckpoint?.durationMs,
        rescalePauseMs: json.rescale?.pauseMs,
        restoreMs: json.restoreMs,
      };
    case 'applications':
      return {
        startToFirstCommittedMs: json.start?.toFirstCommittedMs,
        updateGapMs: json.update?.processingGapMs,
        updateCommittedGapMs: json.update?.committedGapMs,
        stateMb: json.update?.snapshotBytes === undefined ? undefined : Number((json.update.snapshotBytes / 2 ** 20).toFixed(1)),
        recordsPerSecond: json.achieved?.bidsPerSecondLast10s,
      };
    case 's3-sink':
      return Object.fromEntries((json.figures as Json[]).map((f) => [`${f.format} ${f.phase}`, { mbPerSecond: Number(f.mbPerSecond.toFixed(1)), ...(f.phase === 'store' ? {} : { recordsPerSecond: rate(f.recordsPerSecond) }) }]));
    case 'postgres-sink':
    case 'opensearch-sink':
      return Object.fromEntries(
        (json.figures as Json[]).map((f) => [f.phase, { perSecond: rate(f.rowsPerSecond ?? f.documentsPerSecond) }]),
      );
    default:
      // A benchmark this summary does not know yet: its top-level numbers.
      return Object.fromEntries(Object.entries(json).filter(([, v]) => typeof v === 'number'));
  }
}
