// Large keyed state on a local cluster of real processes (one coordinator, two workers, LevelDB):
// how long checkpoints take, full and incremental, what they cost the job's throughput while
// they run, how long a rescale from 2 to 4 pauses the job, and how long a restore takes. The
// job (large-state-app.ts) first writes `--state-mb` of state, then keeps updating the keys of a
// few key groups. Checkpoints are taken on demand (POST /v1/jobs/:id/checkpoints) so that each
// figure belongs to one known checkpoint. Prints the figures and writes them to
// benchmarks/results/state-<time>.json.
//
//   npm run bench -- state [--state-mb 1024] [--value-bytes 1000] [--hot-key-groups 8]
//                          [--workers 2] [--checkpoint-dir DIR|s3://bucket/prefix] [--checkpoint-rate-mb N]
//                          [--state-cache-entries N]
//
// SLUICE_BENCH_WORKER_NODE_ARGS passes Node.js flags to the workers, e.g. to profile them:
//   SLUICE_BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- state

import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessCluster } from '../../coordinator/cluster/testing/process-cluster.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import { WORKER_DEFAULTS } from '../../shared/config/worker-config.ts';

const root = new URL('../..', import.meta.url).pathname;
const INCREMENTAL_CHECKPOINTS = 5;
const APP = fileURLToPath(new URL('./large-state-app.ts', import.meta.url));

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

function textOption(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Records the keyed operator has taken in, summed over its subtasks. */
const processed = (job: any): number => job.subtasks.filter((s: any) => !s.taskName.startsWith('Source: ')).reduce((sum: number, s: any) => sum + s.recordsIn, 0);

/** The files under a local folder (the shared chunks of a job's checkpoints) → their bytes. */
function filesUnder(path: string, into = new Map<string, number>()): Map<string, number> {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return into;
  }
  for (const name of names) {
    const child = join(path, name);
    const stat = statSync(child);
    if (stat.isDirectory()) filesUnder(child, into);
    else into.set(child, stat.size);
  }
  return into;
}

/** Bytes of the files under `path` that were not there before (retention may delete others meanwhile). */
function newBytes(path: string, before: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const [file, size] of filesUnder(path)) if (!before.has(file)) total += size;
  return total;
}

export async function benchmarkState(args: readonly string[]): Promise<void> {
  const stateMb = option(args, 'state-mb', 1024);
  const valueBytes = option(args, 'value-bytes', 1000);
  const hotKeyGroups = option(args, 'hot-key-groups', 8);
  const workers = option(args, 'workers', 2);
  /** sluice worker --checkpoint-rate-limit-mb (0: unlimited); by default the worker's own default. */
  const checkpointRateMb = option(args, 'checkpoint-rate-mb', WORKER_DEFAULTS.checkpointRateLimitMb);
  /** LevelDB cache entries per keyed subtask (sluice worker --state-cache-entries); 0: the worker's default. */
  const stateCacheEntries = option(args, 'state-cache-entries', 0);
  const keys = Math.round((stateMb * 2 ** 20) / valueBytes);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-bench-'));
  const checkpointDirectory = textOption(args, 'checkpoint-dir') ?? join(dir, 'checkpoints');
  const say = (line: string) => process.stderr.write(`state: ${line}\n`);
  say(`starting a cluster (1 coordinator, ${workers} workers × 2 slots); state ${stateMb} MB = ${keys} keys × ${valueBytes} B in LevelDB; checkpoints in ${checkpointDirectory}`);
  const cluster = await ProcessCluster.start({
    dir,
    coordinators: 1,
    workers,
    slotsPerWorker: 2,
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 30_000,
    checkpointIntervalMs: 24 * 3_600_000, // on demand only
    checkpointDirectory,
    ...(process.env.SLUICE_BENCH_WORKER_NODE_ARGS ? { workerNodeArgs: process.env.SLUICE_BENCH_WORKER_NODE_ARGS.split(' ') } : {}),
    workerArgs: [
      '--checkpoint-rate-limit-mb', String(checkpointRateMb),
      ...(stateCacheEntries > 0 ? ['--state-cache-entries', String(stateCacheEntries)] : []),
    ],
  });
  const figures: Record<string, unknown> = { stateMb, keys, valueBytes, hotKeyGroups, workers, checkpointDirectory, checkpointRateMb, stateCacheEntries };
  try {
    const submitted = await cluster.rest('POST', '/v1/jobs', {
      application: APP,
      parallelism: 2,
      stateBackend: 'leveldb',
      properties: { state: { keys: String(keys), valueBytes: String(valueBytes), hotKeyGroups: String(hotKeyGroups) } },
    });
    const jobId = submitted.jobId as string;
    const job = () => cluster.job(jobId);

    // 1. Load the state.
    const loadStart = Date.now();
    let lastReport = loadStart;
    await waitFor(`${keys} keys written`, 3_600_000, async () => {
      const status = await job();
      if (status.state === 'failed') throw new Error(`the job failed: ${status.failure}`);
      const n = processed(status);
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        say(`loading: ${n} of ${keys} records (${((n / Math.max(1, Date.now() - loadStart)) * 1000).toFixed(0)}/s)`);
      }
      return n >= keys ? status : undefined;
    }, 500);
    const loadSeconds = (Date.now() - loadStart) / 1000;
    figures.loadSeconds = loadSeconds;
    say(`loaded ${stateMb} MB in ${loadSeconds.toFixed(1)} s`);

    /** Records/s of the keyed operator in one-second windows while `during` runs (or for `seconds`). */
    const sampleRates = async (during: Promise<unknown> | number): Promise<number[]> => {
      const rates: number[] = [];
      let done = false;
      const until = typeof during === 'number' ? Date.now() + during * 1000 : Infinity;
      if (typeof during !== 'number') during.then(() => (done = true), () => (done = true));
      let previous = processed(await job());
      let previousAt = Date.now();
      while (!done && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const now = processed(await job());
        const at = Date.now();
        rates.push(((now - previous) / (at - previousAt)) * 1000);
        previous = now;
        previousAt = at;
      }
      return rates;
    };

    const sharedFolder = checkpointDirectory.includes('://') ? undefined : join(checkpointDirectory, jobId, 'shared');
    const checkpoint = async (label: string) => {
      const before = sharedFolder ? filesUnder(sharedFolder) : undefined;
      const ratesBefore = await sampleRates(5);
      const started = Date.now();
      const request = cluster.rest('POST', `/v1/jobs/${jobId}/checkpoints`, {});
      const rates = await sampleRates(request);
      const info = await request;
      const wallMs = Date.now() - started;
      const uploadedMb = sharedFolder && before ? newBytes(sharedFolder, before) / 2 ** 20 : NaN;
      // The job's own rate drifts (compactions, GC): the baseline is the five seconds before and the five after.
      const baseline = median([...ratesBefore, ...(await sampleRates(5))]);
      const during = median(rates);
      const result = {
        checkpointId: info.checkpointId,
        durationMs: info.durationMs,
        wallMs,
        uploadedMb: Number(uploadedMb.toFixed(1)),
        throughputAround: Math.round(baseline),
        throughputDuring: Math.round(during),
        dipPercent: Number((100 * (1 - during / baseline)).toFixed(1)),
      };
      say(`${label} checkpoint ${info.checkpointId}: ${info.durationMs} ms, ${result.uploadedMb} MB uploaded; ${result.throughputAround} rec/s around it, ${result.throughputDuring} during (dip ${result.dipPercent} %)`);
      return result;
    };

    // 2. A full checkpoint (nothing to reuse), then incremental ones (only the hot key groups
    // changed). The first incremental one also writes back what the load left dirty in the LevelDB
    // cache; the others are the steady state, reported by their medians (one-second samples of a
    // job whose own rate drifts are noisy).
    figures.fullCheckpoint = await checkpoint('full');
    const incremental: Array<Awaited<ReturnType<typeof checkpoint>>> = [];
    for (let i = 1; i <= INCREMENTAL_CHECKPOINTS; i++) incremental.push(await checkpoint(`incremental (${i} of ${INCREMENTAL_CHECKPOINTS})`));
    figures.incrementalCheckpoints = incremental;
    const steadyState = incremental.slice(1);
    figures.incrementalCheckpoint = {
      durationMs: median(steadyState.map((c) => c.durationMs)),
      uploadedMb: median(steadyState.map((c) => c.uploadedMb)),
      dipPercent: median(steadyState.map((c) => c.dipPercent)),
    };

    // 3. Live rescale 2 → 4: the key groups that change owner wait for their state, the others go on.
    const beforeRescale = median(await sampleRates(5));
    const countBefore = processed(await job());
    const rescaleStart = Date.now();
    const rescale = await cluster.rest('POST', `/v1/jobs/${jobId}/rescale`, { parallelism: 4 });
    const rescaleWallMs = Date.now() - rescaleStart;
    const duringRescale = ((processed(await job()) - countBefore) / Math.max(1, Date.now() - rescaleStart)) * 1000;
    figures.rescale = { ...rescale, throughputBefore: Math.round(beforeRescale), throughputDuring: Math.round(duringRescale), wallMs: rescaleWallMs };
    say(
      `rescale 2 → 4 (${rescale.mode}): moved key groups paused up to ${rescale.pauseMs} ms; ${rescale.keyGroupsMoved ?? '?'} key groups (${rescale.keyGroupsStaged ?? 0} staged ahead) and ${rescale.splitsMoved ?? '?'} splits moved, ` +
        `${rescale.stashedRecords ?? '?'} records held back; ${Math.round(duringRescale)} rec/s during it (${Math.round(beforeRescale)} before); request to done ${rescale.totalMs} ms`,
    );
    const afterRescale = median(await sampleRates(5));
    figures.throughputAfterRescale = Math.round(afterRescale);

    // 4. Restore: cancel, then submit from the latest checkpoint; time until it runs again.
    const pointer = (await job()).checkpoints.pointer as number;
    await cluster.rest('POST', `/v1/jobs/${jobId}/cancel`);
    const restoreStart = Date.now();
    const restored = await cluster.rest('POST', '/v1/jobs', {
      application: APP,
      parallelism: 2,
      stateBackend: 'leveldb',
      restoreFrom: `${checkpointDirectory.replace(/\/+$/, '')}/${jobId}/chk-${pointer}`,
      properties: { state: { keys: String(keys), valueBytes: String(valueBytes), hotKeyGroups: String(hotKeyGroups) } },
    });
    await waitFor('the restored job to run', 3_600_000, async () => {
      const status = await cluster.job(restored.jobId);
      if (status.state === 'failed') throw new Error(`the restored job failed: ${status.failure}`);
      return status.state === 'running' && processed(status) > 0 ? status : undefined;
    }, 200);
    figures.restoreMs = Date.now() - restoreStart;
    say(`restore of checkpoint ${pointer} at parallelism 2: running again after ${figures.restoreMs} ms`);
    await cluster.rest('POST', `/v1/jobs/${restored.jobId}/cancel`);

    const full = figures.fullCheckpoint as { durationMs: number; dipPercent: number; uploadedMb: number };
    const steady = figures.incrementalCheckpoint as { durationMs: number; uploadedMb: number; dipPercent: number };
    const settings = [
      checkpointRateMb > 0 ? `checkpoint writing limited to ${checkpointRateMb} MiB/s per worker while saturated` : 'checkpoint writing unlimited',
      ...(stateCacheEntries > 0 ? [`LevelDB cache ${stateCacheEntries} entries per subtask`] : []),
    ];
    console.log(`state (${stateMb} MB of LevelDB state, ${workers} workers, parallelism 2${settings.map((x) => `, ${x}`).join('')}):`);
    console.log(`  full checkpoint          ${full.durationMs} ms, ${full.uploadedMb} MB written, throughput dip ${full.dipPercent} %`);
    console.log(`  incremental checkpoint   ${steady.durationMs} ms, ${steady.uploadedMb} MB written (${hotKeyGroups} of 128 key groups changed), dip ${steady.dipPercent} % (medians of checkpoints 2–${INCREMENTAL_CHECKPOINTS}; all ${INCREMENTAL_CHECKPOINTS}: ${incremental.map((c) => `${c.durationMs} ms, ${c.dipPercent} %`).join('; ')})`);
    console.log(
      `  rescale 2 → 4 (${rescale.mode})     moved key groups paused ${rescale.pauseMs} ms (target < 10 000 ms; ${rescale.keyGroupsStaged ?? 0} of ${rescale.keyGroupsMoved ?? '?'} staged ahead); ${Math.round(duringRescale)} rec/s during the ${rescale.totalMs} ms rescale, ${Math.round(beforeRescale)} before, ${Math.round(afterRescale)} after`,
    );
    console.log(`  restore                  ${figures.restoreMs} ms to running`);
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}`;
    mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
    const file = join(root, 'benchmarks/results', `state-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ machine, ...figures }, null, 2));
    console.log(`state: written to ${file}`);
  } finally {
    await cluster.stop();
    if (process.env.SLUICE_KEEP_TEST_DIRS) say(`kept ${dir} (the processes' logs are there)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchmarkState(process.argv.slice(2));
