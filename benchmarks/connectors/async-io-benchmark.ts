// `npm run bench -- async-io [options]`: enrichment through AsyncDataStream against a local HTTP
// service that answers each request after --latency-ms (default 5), run in a process of its own.
// For each capacity: records/s through Sluice (embedded, one subtask: source → async I/O →
// discard), beside the ceiling capacity / latency and a plain loop that keeps the same number of
// requests in flight with the same HTTP client, in the same run. Ordered and unordered.
//
//   --capacities 10,100   requests in flight per subtask (default 10,100)
//   --latency-ms N        the service's answer delay (default 5)
//   --seconds S           about how long each run lasts at the ceiling's rate (default 2)
//   --rounds N            alternate plain / Sluice runs this many times; the best of each is kept (default 2)
//
// Prints the figures and writes them to benchmarks/results/async-io-<time>.json.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AsyncDataStream, StreamExecutionEnvironment } from '../../shared/api/index.ts';
import { SystemClock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { InMemoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { DiscardingSink } from '../../worker/connectors/discarding-sink.ts';
import { InMemoryDeadLetterOutput } from '../../worker/runtime/dead-letter.ts';
import { EmbeddedExecutor } from '../../worker/runtime/embedded-executor.ts';

const root = new URL('../..', import.meta.url).pathname;

/** The service: GET /score?id=N answers {"id":N,"score":…} after the latency. Prints its port. */
const SERVICE = `
const http = require('node:http');
const latencyMs = Number(process.argv[1]);
const server = http.createServer((req, res) => {
  const id = Number(new URL(req.url, 'http://x').searchParams.get('id'));
  setTimeout(() => res.end(JSON.stringify({ id, score: (id * 7919) % 1000 })), latencyMs);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startService(latencyMs: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', SERVICE, String(latencyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the HTTP service exited (${code}) before it listened`)));
    child.stdout!.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
  });
  return { child, port };
}

interface Scored {
  readonly id: number;
  readonly score: number;
}

/** One GET with a keep-alive agent: the client both the plain loop and the pipeline use. */
function score(agent: Agent, port: number, id: number): Promise<Scored> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/score?id=${id}`, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body) as Scored));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** `capacity` loops, each sending its next request when its answer came: the ceiling of the client and service. */
async function plainLoop(port: number, capacity: number, records: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: capacity });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: capacity }, async () => {
      while (next < records) await score(agent, port, next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return records / seconds;
}

async function sluiceRun(port: number, capacity: number, records: number, ordered: boolean): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: capacity });
  const env = new StreamExecutionEnvironment();
  const ids = env.fromCollection(Array.from({ length: records }, (_, i) => i));
  const lookup = async (id: number): Promise<Scored[]> => [await score(agent, port, id)];
  (ordered ? AsyncDataStream.orderedWait(ids, lookup, 10_000, capacity) : AsyncDataStream.unorderedWait(ids, lookup, 10_000, capacity)).sinkTo(new DiscardingSink());
  const executor = await EmbeddedExecutor.create(env, {
    jobName: 'async-io-bench',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: new InMemoryCheckpointStorage(),
    deadLetters: new InMemoryDeadLetterOutput(),
  });
  const started = performance.now();
  const result = await executor.run();
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  if (result.status.recordsWritten !== records) throw new Error(`async-io: ${result.status.recordsWritten} of ${records} records reached the sink`);
  return records / seconds;
}

export async function benchmarkAsyncIo(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      capacities: { type: 'string', default: '10,100' },
      'latency-ms': { type: 'string', default: '5' },
      seconds: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const capacities = values.capacities.split(',').map(Number);
  const latencyMs = Number(values['latency-ms']);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  if (capacities.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--capacities: positive integers, got ${values.capacities}`);
  const service = await startService(latencyMs);
  const figures = [];
  try {
    console.log(`async-io: an HTTP service answering after ${latencyMs} ms on 127.0.0.1:${service.port} (its own process); one subtask`);
    for (const capacity of capacities) {
      const ceiling = (capacity * 1000) / latencyMs;
      const records = Math.max(1000, Math.round(ceiling * seconds));
      let plain = 0;
      let ordered = 0;
      let unordered = 0;
      for (let round = 1; round <= rounds; round++) {
        const p = await plainLoop(service.port, capacity, records);
        const o = await sluiceRun(service.port, capacity, records, true);
        const u = await sluiceRun(service.port, capacity, records, false);
        console.log(`  capacity ${capacity}, round ${round}: plain loop ${Math.round(p)}/s, orderedWait ${Math.round(o)}/s, unorderedWait ${Math.round(u)}/s (${records} records)`);
        plain = Math.max(plain, p);
        ordered = Math.max(ordered, o);
        unordered = Math.max(unordered, u);
      }
      console.log(
        `async-io: capacity ${capacity}: ceiling ${Math.round(ceiling)}/s, plain loop ${Math.round(plain)}/s, ` +
          `orderedWait ${Math.round(ordered)}/s (${((ordered / ceiling) * 100).toFixed(0)}% of the ceiling), unorderedWait ${Math.round(unordered)}/s (${((unordered / ceiling) * 100).toFixed(0)}%)`,
      );
      figures.push({ capacity, records, ceilingPerSecond: Math.round(ceiling), plainPerSecond: Math.round(plain), orderedPerSecond: Math.round(ordered), unorderedPerSecond: Math.round(unordered) });
    }
  } finally {
    service.child.kill();
  }
  mkdirSync(join(root, 'benchmarks/results'), { recursive: true });
  const file = join(root, 'benchmarks/results', `async-io-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ benchmark: 'async-io', latencyMs, rounds, cpus: cpus().length, figures }, null, 2)}\n`);
  console.log(`async-io: wrote ${file}`);
}
