// `npm run bench -- data-plane [options]`: the worker-to-worker data plane, between two processes
// on this machine. This process produces ~100-byte Nexmark-like bids, partitions them by key
// (auction) through an ExchangeOutput into two RemoteOutputChannels, and pauses whenever a
// channel is not writable (resuming on onWritable), as a task does; a child process
// (data-plane-consumer.ts) decodes and counts. Partial batches are flushed every --flush-ms, as
// Flink's buffer timeout does. Phases, each on fresh channels over the same TCP connection:
//
//   warm-up      --warmup-seconds, flat out (JIT, socket buffers), not reported
//   throughput   --seconds flat out: records/s and MB/s, from the first record produced to the
//                consumer taking the end of both channels
//   latency      --seconds at --latency-rate records/s (default half the measured throughput):
//                p50/p99/max of consumer-take time − the record's scheduled send time, which is
//                stamped in its dateTime field (so a late producer counts against latency too)
//
// Prints the figures and writes them to benchmarks/results/data-plane-<time>.json.

import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../shared/logging.ts';
import { DataPlane, type RemoteOutputChannel } from '../../worker/network/data-plane.ts';
import { ExchangeOutput } from '../../worker/runtime/exchange.ts';
import { monotonicNowMs, type FromConsumer, type LatencySummary, type ToConsumer } from './data-plane-bench-protocol.ts';

const root = new URL('../..', import.meta.url).pathname;
const CHANNELS = 2;
const MAX_PARALLELISM = 128;
/** Records made between checks of `writable`; a pause overshoots by at most this much. */
const RECORDS_PER_CHECK = 256;
/** Checks between turns of the event loop, so credit frames are read while producing flat out. */
const CHECKS_PER_TURN = 8;
const PHASE_TIMEOUT_MS = 60_000;

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  /** The record's send time (monotonic ms), which the consumer's latency is measured against. */
  dateTime: number;
}

const BID_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
/** Distinct URLs made up front: the benchmark measures the exchange, not string building. */
const URLS = Array.from({ length: 1024 }, (_, i) => `https://www.nexmark.com/${(i % 26 + 10).toString(36)}bc/item.htm?query=${i}`);

function makeBid(i: number, sentAtMs: number): Bid {
  return {
    auction: 1000 + ((i * 7919) % 10_000),
    bidder: 2000 + ((i * 104_729) % 100_000),
    price: 100 + ((i * 31) % 1_000_000),
    channel: BID_CHANNELS[i & 3]!,
    url: URLS[i & 1023]!,
    dateTime: sentAtMs,
  };
}

interface PhaseResult {
  readonly name: string;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly wireBytes: number;
  readonly latency?: LatencySummary;
  /** Times the producer found a channel not writable and paused. */
  readonly pauses: number;
}

class ConsumerProcess {
  private readonly waiting = new Map<string, { resolve: (message: FromConsumer) => void; reject: (error: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromConsumer) => {
      const key = message.type === 'ready' ? 'ready' : `${message.type}:${message.name}`;
      const waiter = this.waiting.get(key);
      this.waiting.delete(key);
      waiter?.resolve(message);
    });
    child.once('exit', (code, signal) => {
      for (const { reject } of this.waiting.values()) reject(new Error(`the consumer process exited (code ${code}, signal ${signal})`));
      this.waiting.clear();
    });
  }

  static start(token: string): { consumer: ConsumerProcess; ready: Promise<FromConsumer> } {
    const child = fork(join(root, 'benchmarks/cluster/data-plane-consumer.ts'), [], {
      // The parent's node flags (e.g. --trace-gc) apply to the consumer too; tsx loads the TypeScript.
      execArgv: process.execArgv.includes('tsx') ? process.execArgv : [...process.execArgv, '--import', 'tsx'],
      env: { ...process.env, SLUICE_BENCH_TOKEN: token },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const consumer = new ConsumerProcess(child);
    return { consumer, ready: consumer.next('ready') };
  }

  /** The next message of this kind ("ready", "registered:<phase>", "phaseDone:<phase>"). */
  next(key: string): Promise<FromConsumer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`the consumer process did not answer ${key} within ${PHASE_TIMEOUT_MS / 1000} s`));
      }, PHASE_TIMEOUT_MS);
      this.waiting.set(key, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  send(message: ToConsumer): void {
    this.child.send(message);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.send({ type: 'stop' });
    });
  }
}

interface PhaseSettings {
  readonly name: string;
  readonly seconds: number;
  /** Records per second; undefined: as fast as the channels take them. */
  readonly rate: number | undefined;
  readonly measureLatency: boolean;
}

async function runPhase(
  plane: DataPlane,
  consumer: ConsumerProcess,
  address: string,
  settings: PhaseSettings,
  options: { batchSize: number; flushMs: number },
): Promise<PhaseResult> {
  const { name, seconds, rate } = settings;
  const keys = Array.from({ length: CHANNELS }, (_, i) => `${name}/${i}`);
  const registered = consumer.next(`registered:${name}`);
  consumer.send({ type: 'phase', name, keys, measureLatency: settings.measureLatency });
  await registered;
  const done = consumer.next(`phaseDone:${name}`);

  let resume: (() => void) | undefined;
  const onWritable = () => {
    const next = resume;
    resume = undefined;
    next?.();
  };
  const outputs: RemoteOutputChannel[] = keys.map((key) => plane.openOutput(key, address, onWritable));
  const exchange = new ExchangeOutput(outputs, {
    partitioning: 'hash',
    keySelector: (bid: Bid) => bid.auction,
    maxParallelism: MAX_PARALLELISM,
    producerIndex: 0,
    batchSize: options.batchSize,
  });
  const allWritable = () => outputs.every((output) => output.writable);
  const bytesBefore = plane.getStatus().bytesOut;

  const startedAtMs = monotonicNowMs();
  const endAtMs = startedAtMs + seconds * 1000;
  const flushTimer = setInterval(() => exchange.flush(), options.flushMs);
  let produced = 0;
  let pauses = 0;
  let lastProgressAtMs = startedAtMs;
  let lastProgressRecords = 0;
  const progress = (nowMs: number) => {
    if (nowMs - lastProgressAtMs < 1000) return;
    const rateNow = ((produced - lastProgressRecords) * 1000) / (nowMs - lastProgressAtMs);
    process.stderr.write(
      `  ${name}: ${((nowMs - startedAtMs) / 1000).toFixed(0)} s, ${(produced / 1e6).toFixed(2)} M records, ${(rateNow / 1e6).toFixed(2)} M records/s, ${pauses} pauses for credit\n`,
    );
    lastProgressAtMs = nowMs;
    lastProgressRecords = produced;
  };

  await new Promise<void>((finish) => {
    const pump = () => {
      for (let check = 0; check < CHECKS_PER_TURN; check++) {
        const nowMs = monotonicNowMs();
        progress(nowMs);
        if (nowMs >= endAtMs) return finish();
        if (!allWritable()) {
          pauses++;
          resume = () => setImmediate(pump);
          return;
        }
        if (rate === undefined) {
          for (let i = 0; i < RECORDS_PER_CHECK; i++) {
            const bid = makeBid(produced++, nowMs);
            exchange.collect(bid, bid.dateTime);
          }
        } else {
          // Each record carries its scheduled time, so a producer running late shows as latency.
          const target = Math.floor(((nowMs - startedAtMs) * rate) / 1000);
          const due = Math.min(target, produced + RECORDS_PER_CHECK);
          while (produced < due) {
            const bid = makeBid(produced, startedAtMs + (produced * 1000) / rate);
            produced++;
            exchange.collect(bid, bid.dateTime);
          }
          if (produced >= target) break; // caught up: give the event loop a turn
        }
      }
      setImmediate(pump);
    };
    pump();
  });
  clearInterval(flushTimer);
  exchange.emitEnd();
  const report = (await done) as Extract<FromConsumer, { type: 'phaseDone' }>;
  plane.releaseChannels(`${name}/`);
  if (report.records !== produced) throw new Error(`${name}: produced ${produced} records but the consumer counted ${report.records}`);
  const elapsedSeconds = (report.endReceivedAtMs - startedAtMs) / 1000;
  return {
    name,
    records: produced,
    seconds: elapsedSeconds,
    recordsPerSecond: produced / elapsedSeconds,
    wireBytes: plane.getStatus().bytesOut - bytesBefore,
    pauses,
    ...(report.latency ? { latency: report.latency } : {}),
  };
}

export async function benchmarkDataPlane(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      seconds: { type: 'string', default: '10' },
      'warmup-seconds': { type: 'string', default: '2' },
      'latency-rate': { type: 'string', default: '0' },
      'batch-size': { type: 'string', default: '1024' },
      'flush-ms': { type: 'string', default: '1' },
      'initial-credits': { type: 'string', default: '8' },
    },
  });
  const seconds = Number(values.seconds);
  const batchSize = Number(values['batch-size']);
  const flushMs = Number(values['flush-ms']);
  const initialCredits = Number(values['initial-credits']);
  const token = randomBytes(16).toString('hex');

  const plane = await DataPlane.create({
    host: '127.0.0.1',
    port: 0,
    token,
    workerId: 'bench-producer',
    initialCredits,
    logger: createLogger({ process: 'data-plane-producer' }, process.env.SLUICE_LOG_LEVEL ?? 'warn'),
  });
  plane.onChannelFailure((error, keys) => {
    console.error(`producer: channels ${keys.join(', ')} failed: ${error.message}`);
    process.exit(1);
  });
  const { consumer, ready } = ConsumerProcess.start(token);
  const { address } = (await ready) as Extract<FromConsumer, { type: 'ready' }>;
  const sample = JSON.stringify(makeBid(123_456, monotonicNowMs()));
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node.js ${process.version}`;
  process.stderr.write(
    `data plane: ${CHANNELS} keyed channels from this process to a consumer process at ${address}; batches of ${batchSize}, ` +
      `${initialCredits} credits per channel, partial batches flushed every ${flushMs} ms (the buffer timeout)\n`,
  );
  const phaseOptions = { batchSize, flushMs };
  try {
    process.stderr.write(`warm-up, ${values['warmup-seconds']} s\n`);
    await runPhase(plane, consumer, address, { name: 'warmup', seconds: Number(values['warmup-seconds']), rate: undefined, measureLatency: false }, phaseOptions);
    process.stderr.write(`throughput, ${seconds} s flat out\n`);
    const throughput = await runPhase(plane, consumer, address, { name: 'throughput', seconds, rate: undefined, measureLatency: false }, phaseOptions);
    const latencyRate = Number(values['latency-rate']) > 0 ? Number(values['latency-rate']) : Math.round(throughput.recordsPerSecond / 2);
    process.stderr.write(`latency, ${seconds} s at ${latencyRate.toLocaleString('en')} records/s\n`);
    const latency = await runPhase(plane, consumer, address, { name: 'latency', seconds, rate: latencyRate, measureLatency: true }, phaseOptions);

    const mbPerSecond = throughput.wireBytes / throughput.seconds / 1e6;
    const lines = [
      `\nData plane between two processes on this machine (${machine})`,
      `keyed exchange into ${CHANNELS} channels over one TCP connection (127.0.0.1), batches of ${batchSize} records, ` +
        `${initialCredits} credits per channel, buffer timeout ${flushMs} ms`,
      `records: ${sample.length} bytes as JSON, ${(throughput.wireBytes / throughput.records).toFixed(1)} bytes each on the wire (columnar frames)`,
      '',
      `throughput: ${Math.round(throughput.recordsPerSecond).toLocaleString('en')} records/s, ${mbPerSecond.toFixed(1)} MB/s on the wire ` +
        `(${throughput.records.toLocaleString('en')} records in ${throughput.seconds.toFixed(2)} s, ${throughput.pauses} pauses for credit)`,
      `latency at ${latencyRate.toLocaleString('en')} records/s (${Math.round(latency.recordsPerSecond).toLocaleString('en')} achieved): ` +
        `p50 ${latency.latency!.p50Ms.toFixed(2)} ms, p99 ${latency.latency!.p99Ms.toFixed(2)} ms, max ${latency.latency!.maxMs.toFixed(2)} ms ` +
        `(${latency.latency!.samples.toLocaleString('en')} records; send time to the consumer taking the batch)`,
      `targets: >= 1,000,000 records/s ${throughput.recordsPerSecond >= 1e6 ? 'met' : 'NOT met'}; ` +
        `p99 < 10 ms at half that rate ${latency.latency!.p99Ms < 10 ? 'met' : 'NOT met'}`,
    ];
    console.log(lines.join('\n'));
    mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
    const file = join(root, 'benchmarks/results', `data-plane-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      JSON.stringify({ machine, channels: CHANNELS, batchSize, initialCredits, flushMs, recordJsonBytes: sample.length, throughput, latencyRate, latency }, null, 2),
    );
    console.log(`\nwritten to ${file}`);
  } finally {
    await consumer.stop();
    await plane.close();
  }
}
