// `npm run bench -- nexmark`: the same Nexmark queries on Sluice and on Apache Flink (a local
// MiniCluster, benchmarks/flink-baseline), on the same machine in the same run. Sluice runs
// embedded (--mode embedded, the default: one process, one thread) or on a local cluster of real
// processes (--mode cluster: one coordinator and --workers N workers, a fresh cluster per run,
// cluster-run.ts) at the same parallelism as Flink's MiniCluster. First
// both engines compute checksums of the events and of each query's results; a query whose
// checksums differ is not timed (the engines would not be doing the same work). Then timed runs
// alternate between the engines, several rounds, each in a fresh process, and a table gives
// events/s, events per CPU-second of the whole process (startup included), the ratio and peak
// memory. Then a latency phase (unless --latency-rate 0): each comparable query once per engine
// per round in latency mode (latency.ts: the source paced at R events/s in wall-clock time, event
// time = due time, p50/p99 of "sink receipt − result timestamp" after a 3 s warm-up), adding the
// p50/p99 (median over rounds) to the table. The figures also go to
// benchmarks/results/nexmark-<time>.json (cluster mode: nexmark-cluster-<time>.json).
//
// Cluster mode: the results stay in the workers, so the query's sink writes each subtask's count
// and partial checksum to a file (result-file-sink.ts) that the harness adds up; the events
// checksum is computed here from the same generator settings, as sluice-checksum.ts does. A query
// whose cluster checksum could not be collected is still timed, and its row says so. No latency
// phase: the paced source and the latency sink assume one process (one base time, one histogram).

import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { runMeasured } from '../measured-process.ts';
import { NexmarkGenerator } from '../../shared/nexmark/generator.ts';
import type { NexmarkEvent } from '../../shared/nexmark/model.ts';
import { eventsChecksum } from './checksum.ts';
import { runQueryOnCluster, type ClusterRun } from './cluster-run.ts';
import { DEFAULT_LATENCY_RATE, DEFAULT_LATENCY_SECONDS } from './latency.ts';
import { QUERIES } from './queries.ts';

const root = new URL('../..', import.meta.url).pathname;
const flinkDirectory = join(root, 'benchmarks/flink-baseline');

/** The events checksum covers at most this many events (the contract with the Flink side). */
const EVENTS_CHECKSUM_LIMIT = 1_000_000;
/** The generator's event-time rate in every run (run-query.ts's and the Flink jar's default). */
const EVENT_RATE = 10_000;

/** The file written, and the headline rows, for the `all` summary. */
export interface ComparisonResult {
  readonly file: string;
  readonly mode: 'embedded' | 'cluster';
  readonly rows: ReadonlyArray<{ readonly query: string; readonly ratio: number; readonly cpuRatio: number; readonly checksum: string }>;
}

export async function compareEngines(args: readonly string[]): Promise<ComparisonResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      queries: { type: 'string', default: 'q0,q1,q2,q5' },
      events: { type: 'string', default: '5000000' },
      'checksum-events': { type: 'string', default: '1000000' },
      rounds: { type: 'string', default: '3' },
      // Default: 1 embedded, the number of workers in cluster mode.
      parallelism: { type: 'string' },
      mode: { type: 'string', default: 'embedded' },
      workers: { type: 'string', default: '2' },
      // Latency phase: wall-clock (= event-time) rate R, R × seconds events per run; 0 skips it.
      'latency-rate': { type: 'string' },
      'latency-seconds': { type: 'string', default: String(DEFAULT_LATENCY_SECONDS) },
    },
  });
  const queries = values.queries.split(',');
  for (const q of queries) if (!(QUERIES as readonly string[]).includes(q)) throw new Error(`--queries: unknown query ${q}; known: ${QUERIES.join(', ')}`);
  const mode = values.mode;
  if (mode !== 'embedded' && mode !== 'cluster') throw new Error(`--mode must be embedded or cluster, got ${mode}`);
  const cluster = mode === 'cluster';
  const workers = Number(values.workers);
  if (!Number.isSafeInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got ${values.workers}`);
  const rounds = Number(values.rounds);
  const parallelism = Number(values.parallelism ?? (cluster ? workers : 1));
  if (!Number.isSafeInteger(parallelism) || parallelism < 1) throw new Error(`--parallelism must be a positive integer, got ${values.parallelism}`);
  if (cluster && values['latency-rate'] !== undefined && Number(values['latency-rate']) > 0) {
    throw new Error('--latency-rate: the latency runs are embedded only (the paced source and the latency sink assume one process); use --latency-rate 0 or leave it out in cluster mode');
  }
  const latencyRate = Number(values['latency-rate'] ?? (cluster ? 0 : DEFAULT_LATENCY_RATE));
  const latencySeconds = Number(values['latency-seconds']);
  if (!Number.isFinite(latencyRate) || latencyRate < 0) throw new Error(`--latency-rate must be a non-negative number, got ${values['latency-rate']}`);
  if (latencyRate > 0 && !(latencySeconds > 0)) throw new Error(`--latency-seconds must be positive, got ${values['latency-seconds']}`);
  const jar = await flinkJar();

  const sluiceArgs = (query: string, checksum: boolean, events: string) =>
    checksum
      ? ['--import', 'tsx', join(root, 'benchmarks/flink-baseline/sluice-checksum.ts'), '--query', query, '--events', events]
      : ['--import', 'tsx', join(root, 'benchmarks/nexmark/run-query.ts'), '--query', query, '--events', events];
  const flinkArgs = (query: string, checksum: boolean, events: string) => [
    '-jar', jar, '--query', query, '--events', events, '--parallelism', String(parallelism), ...(checksum ? ['--checksum'] : []),
  ];
  const latencyArgs = ['--latency-rate', String(latencyRate), '--latency-seconds', String(latencySeconds)];
  const runWith = async (engine: 'sluice' | 'flink', query: string, args: string[], timeoutMs: number) => {
    const measured = await runMeasured(engine === 'sluice' ? process.execPath : 'java', args, {
      cwd: root,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
      timeoutMs,
    });
    if (measured.code !== 0) throw new Error(`${engine} ${query} failed (exit ${measured.code}):\n${measured.stderr.slice(-2000)}`);
    const report = JSON.parse(measured.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    return { measured, report };
  };
  const run = (engine: 'sluice' | 'flink', query: string, checksum: boolean, events: string) =>
    runWith(engine, query, engine === 'sluice' ? sluiceArgs(query, checksum, events) : flinkArgs(query, checksum, events), 15 * 60_000);
  // Latency mode: a run takes about latencySeconds (+ start-up); killed well after that.
  const runLatency = (engine: 'sluice' | 'flink', query: string) =>
    runWith(
      engine,
      query,
      engine === 'sluice'
        ? ['--import', 'tsx', join(root, 'benchmarks/nexmark/run-query.ts'), '--query', query, ...latencyArgs]
        : ['-jar', jar, '--query', query, '--parallelism', String(parallelism), ...latencyArgs],
      (3 * latencySeconds + 120) * 1000,
    );

  const clusterRun = (query: string, checksum: boolean, events: string) =>
    runQueryOnCluster({ query, events: Number(events), parallelism, workers, checksum, timeoutMs: 15 * 60_000 });
  /** Cluster mode: the events checksum from the generator, once (the same settings as every run's source). */
  let clusterEventsChecksum: string | undefined;
  const sluiceChecksum = async (query: string): Promise<Record<string, unknown>> => {
    if (!cluster) return (await run('sluice', query, true, values['checksum-events'])).report;
    const r = await clusterRun(query, true, values['checksum-events']);
    clusterEventsChecksum ??= eventsChecksum(firstEvents(Math.min(Number(values['checksum-events']), EVENTS_CHECKSUM_LIMIT)));
    const base = { engine: 'sluice', mode: 'cluster', query, events: Number(values['checksum-events']), eventsChecksum: clusterEventsChecksum };
    if ('missing' in r.results || r.results.checksum === undefined) return { ...base, unavailable: 'missing' in r.results ? r.results.missing : 'the sink wrote no checksum' };
    return { ...base, outputChecksum: r.results.checksum.hex, outputCount: r.results.checksum.count };
  };

  // 1. checksums
  const comparable: string[] = [];
  /** Queries timed although the cluster run's output checksum could not be collected: why. */
  const unchecked = new Map<string, string>();
  const checksums: Record<string, unknown> = {};
  for (const query of queries) {
    process.stderr.write(`checksums ${query} (${values['checksum-events']} events${cluster ? `, Sluice on a cluster of ${workers} workers at parallelism ${parallelism}` : ''}) … `);
    const s = await sluiceChecksum(query);
    const f = (await run('flink', query, true, values['checksum-events'])).report;
    if (s.unavailable !== undefined) {
      const why = `output checksum not collected from the cluster (${String(s.unavailable)})`;
      checksums[query] = { sluice: s, flink: f, same: null };
      unchecked.set(query, why);
      comparable.push(query);
      process.stderr.write(`NOT CHECKED: ${why}; timed anyway, marked in the table\n`);
      continue;
    }
    const same = s.eventsChecksum === f.eventsChecksum && s.outputChecksum === f.outputChecksum && s.outputCount === f.outputCount;
    checksums[query] = { sluice: s, flink: f, same };
    process.stderr.write(same ? `equal (${s.outputCount} results)\n` : `DIFFERENT: sluice ${JSON.stringify(s)} flink ${JSON.stringify(f)}\n`);
    if (same) comparable.push(query);
  }

  // 2. timed runs, alternating
  type Timed = {
    engine: string;
    query: string;
    round: number;
    eventsPerSecond: number;
    eventsPerCpuSecond: number;
    peakRssBytes: number;
    cpuSeconds: number;
    wallSeconds: number;
    /** Cluster mode, Sluice: the run's details (per process, job-only CPU, cluster start). */
    cluster?: Omit<ClusterRun, 'query' | 'events'>;
  };
  const timed: Timed[] = [];
  const events = Number(values.events);
  const timedRun = async (engine: 'sluice' | 'flink', query: string): Promise<Omit<Timed, 'engine' | 'query' | 'round'>> => {
    if (engine === 'sluice' && cluster) {
      const { query: _q, events: _e, ...details } = await clusterRun(query, false, values.events);
      return {
        eventsPerSecond: details.eventsPerSecond,
        eventsPerCpuSecond: events / details.cpuSeconds,
        peakRssBytes: details.peakRssBytes,
        cpuSeconds: details.cpuSeconds,
        wallSeconds: details.clusterStartSeconds + details.seconds,
        cluster: details,
      };
    }
    const { measured, report } = await run(engine, query, false, values.events);
    return {
      eventsPerSecond: Number(report.eventsPerSecond),
      eventsPerCpuSecond: events / measured.cpuSeconds,
      peakRssBytes: measured.peakRssBytes,
      cpuSeconds: measured.cpuSeconds,
      wallSeconds: measured.wallSeconds,
    };
  };
  for (let round = 1; round <= rounds; round++) {
    for (const query of comparable) {
      for (const engine of round % 2 === 1 ? (['sluice', 'flink'] as const) : (['flink', 'sluice'] as const)) {
        process.stderr.write(`round ${round}/${rounds}: ${query} on ${engine}${engine === 'sluice' && cluster ? ` (cluster: ${workers} workers, parallelism ${parallelism})` : ''} … `);
        const t: Timed = { engine, query, round, ...(await timedRun(engine, query)) };
        timed.push(t);
        process.stderr.write(`${(t.eventsPerSecond / 1e6).toFixed(2)} M events/s, ${(t.eventsPerCpuSecond / 1e6).toFixed(2)} M events per CPU-second\n`);
      }
    }
  }

  const k = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} K`);

  // 3. latency runs, alternating
  type Latency = {
    engine: string;
    query: string;
    round: number;
    keptUp: boolean;
    inputEventsPerSecond: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    measuredResults: number;
    startLagMs: number;
    cpuSeconds: number;
    peakRssBytes: number;
    note?: string;
  };
  const latencies: Latency[] = [];
  if (latencyRate > 0) {
    for (let round = 1; round <= rounds; round++) {
      for (const query of comparable) {
        for (const engine of round % 2 === 1 ? (['sluice', 'flink'] as const) : (['flink', 'sluice'] as const)) {
          process.stderr.write(`latency round ${round}/${rounds}: ${query} on ${engine} at ${latencyRate} events/s for ${latencySeconds} s … `);
          const { measured, report: r } = await runLatency(engine, query);
          const l: Latency = {
            engine,
            query,
            round,
            keptUp: r.keptUp === true,
            inputEventsPerSecond: Number(r.inputEventsPerSecond),
            p50Ms: r.p50Ms as number | null,
            p99Ms: r.p99Ms as number | null,
            maxMs: r.maxMs as number | null,
            measuredResults: Number(r.measuredResults),
            startLagMs: Number(r.startLagMs),
            cpuSeconds: measured.cpuSeconds,
            peakRssBytes: measured.peakRssBytes,
            ...(r.latencyNote !== undefined ? { note: String(r.latencyNote) } : {}),
          };
          latencies.push(l);
          process.stderr.write(
            l.p50Ms !== null
              ? `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms (${l.measuredResults} results measured, input ${k(l.inputEventsPerSecond)}/s)\n`
              : `${l.note ?? 'no latency'}\n`,
          );
        }
      }
    }
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}, ${javaVersion()}`;
  const sluiceSide = cluster
    ? `Sluice local cluster (1 coordinator + ${workers} workers × ${Math.ceil(parallelism / workers)} slots, separate processes, parallelism ${parallelism})`
    : 'Sluice embedded (one thread)';
  console.log(`\nNexmark, ${values.events} events per run, ${rounds} rounds alternating, ${sluiceSide} vs Flink MiniCluster at parallelism ${parallelism} (${machine})\n`);
  const withLatency = latencyRate > 0;
  const latencyHeader = withLatency ? ` latency p50 / p99 Sluice | latency p50 / p99 Flink |` : '';
  console.log(`| query | Sluice events/s (median, min–max) | Flink events/s (median, min–max) | ratio | Sluice / Flink events per CPU-second | ratio | peak RSS Sluice / Flink |${latencyHeader}`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|${withLatency ? '---:|---:|' : ''}`);
  /** Median p50/p99/max over the rounds that kept up; a cell for the table. */
  const latencyStats = (engine: string, query: string) => {
    const runs = latencies.filter((l) => l.engine === engine && l.query === query);
    const ok = runs.filter((l) => l.keptUp && l.p50Ms !== null);
    const stats =
      ok.length > 0
        ? { p50Ms: median(ok.map((l) => l.p50Ms!)), p99Ms: median(ok.map((l) => l.p99Ms!)), maxMs: median(ok.map((l) => l.maxMs!)), measuredResults: median(ok.map((l) => l.measuredResults)) }
        : { p50Ms: null, p99Ms: null, maxMs: null, measuredResults: 0 };
    const notKeptUp = runs.filter((l) => !l.keptUp);
    const worstInput = Math.min(...notKeptUp.map((l) => l.inputEventsPerSecond));
    const cell =
      ok.length > 0
        ? `${stats.p50Ms} / ${stats.p99Ms} ms${notKeptUp.length > 0 ? ` (did not keep up in ${notKeptUp.length} of ${runs.length} rounds)` : ''}`
        : notKeptUp.length > 0
          ? `could not keep up at ${k(latencyRate)}/s (achieved ${k(worstInput)}/s)`
          : 'no results measured';
    return { ...stats, roundsKeptUp: ok.length, rounds: runs.length, cell };
  };
  const rows = [];
  for (const query of queries) {
    if (!comparable.includes(query)) {
      console.log(`| ${query} | — | — | checksums differ: not compared | | | |${withLatency ? ' | |' : ''}`);
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
    const latency = withLatency ? { sluice: latencyStats('sluice', query), flink: latencyStats('flink', query) } : undefined;
    const checksum = unchecked.has(query) ? `not checked: ${unchecked.get(query)}` : 'equal';
    rows.push({ query, checksum, sluice: s, flink: f, ratio: s.median / f.median, cpuRatio: s.perCpu / f.perCpu, ...(latency ? { latency } : {}) });
    console.log(
      `| ${unchecked.has(query) ? `${query} (checksum NOT checked: ${unchecked.get(query)})` : query} | ${k(s.median)} (${k(s.min)}–${k(s.max)}) | ${k(f.median)} (${k(f.min)}–${k(f.max)}) | ${(s.median / f.median).toFixed(2)}× | ` +
        `${k(s.perCpu)} / ${k(f.perCpu)} | ${(s.perCpu / f.perCpu).toFixed(2)}× | ${(s.peakRss / 2 ** 20).toFixed(0)} / ${(f.peakRss / 2 ** 20).toFixed(0)} MiB |` +
        (latency ? ` ${latency.sluice.cell} | ${latency.flink.cell} |` : ''),
    );
  }
  if (withLatency) {
    const counts = comparable.map((q) => `${q} ${latencyStats('sluice', q).measuredResults} / ${latencyStats('flink', q).measuredResults}`).join(', ');
    console.log(
      `\nLatency: source paced at ${latencyRate} events/s (wall clock = event time) for ${latencySeconds} s, ${rounds} round(s); latency = sink receipt − result timestamp ` +
        `(windowed results: the window's max timestamp), results with timestamps in [base + 3 s, end − 1 s); nearest-rank p50 / p99, median over rounds. ` +
        `Results measured per run (Sluice / Flink): ${counts}.`,
    );
  }
  if (cluster) {
    console.log(
      `\nCluster mode: Sluice events/s = events / (submission → job finished: application loading, deployment, the run, the final checkpoint), ` +
        `as Flink's net job runtime runs from submission to the end. Sluice's events per CPU-second divide by the CPU of all ${workers + 1} processes ` +
        `from their start (start-up included) to the job's end; its peak RSS is the sum of each process's peak. ` +
        `Checksums: each sink subtask's count and partial checksum, added up (result-file-sink.ts). No latency runs in cluster mode.`,
    );
    // Where a cluster run's time and CPU go (medians over the rounds; details per run in the JSON).
    const perQuery = comparable.map((query) => {
      const runs = timed.filter((t) => t.engine === 'sluice' && t.query === query).map((t) => t.cluster!);
      const deploy = runs.filter((r) => r.phases).map((r) => r.phases!.submittedToRunningSeconds);
      return (
        `${query}: ${k(median(runs.map((r) => events / r.jobCpuSeconds)))} events per CPU-second of the job alone (from submission), ` +
        `start-up ${median(runs.map((r) => r.cpuSeconds - r.jobCpuSeconds)).toFixed(1)} CPU-s` +
        (deploy.length > 0 ? `, submission → running ${median(deploy).toFixed(2)} s` : '')
      );
    });
    console.log(`Sluice cluster runs: ${perQuery.join('; ')}.`);
  }
  mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
  const file = join(root, 'benchmarks/results', `nexmark-${cluster ? 'cluster-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        mode,
        ...(cluster ? { workers, slotsPerWorker: Math.ceil(parallelism / workers) } : {}),
        machine,
        events: Number(values.events),
        rounds,
        parallelism,
        ...(withLatency ? { latencyRate, latencySeconds } : {}),
        checksums,
        rows,
        timed,
        ...(withLatency ? { latency: latencies } : {}),
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${file}`);
  return { file, mode, rows: rows.map((r) => ({ query: r.query, ratio: r.ratio, cpuRatio: r.cpuRatio, checksum: r.checksum })) };
}

function* firstEvents(count: number): Generator<NexmarkEvent> {
  const generator = new NexmarkGenerator({ maxEvents: count, firstEventRatePerSecond: EVENT_RATE });
  while (generator.hasNext()) yield generator.next();
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
