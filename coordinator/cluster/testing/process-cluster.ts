// Test harness: a real cluster of OS processes (coordinators and workers started through
// bin/sluice.mjs, as a user starts them), each logging JSON to its own file. Gives tests the REST
// API of the current leader and the processes to kill or pause (waits: shared/testing/wait-for.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIdempotent, restCall } from '../../../cli/cluster-commands.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

const BIN = fileURLToPath(new URL('../../../bin/sluice.mjs', import.meta.url));
export const KEYED_COUNT_APP = fileURLToPath(new URL('./keyed-count-app.ts', import.meta.url));
export const TEST_TOKEN = 'process-cluster-test-token-0123456789';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ClusterProcess {
  readonly id: string;
  /** Stopped with SIGSTOP and not continued: calls to it would hang. */
  paused?: boolean;
  readonly logFile: string;
  child: ChildProcess;
  readonly restPort?: number;
  readonly rpcPort?: number;
}

export interface ProcessClusterOptions {
  readonly dir: string;
  readonly coordinators: number;
  readonly workers: number;
  readonly slotsPerWorker: number;
  /** Real etcd endpoints; none: embedded leader election (one coordinator). */
  readonly etcdEndpoints?: readonly string[];
  readonly etcdNamespace?: string;
  readonly leaseTtlSeconds?: number;
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  readonly checkpointIntervalMs?: number;
  /** Where checkpoints and snapshots go (a folder or s3://…); default under `dir`. */
  readonly checkpointDirectory?: string;
  /** More `sluice worker` flags (e.g. `--checkpoint-rate-limit-mb 64`). */
  readonly workerArgs?: readonly string[];
  /** Node.js options for the worker processes (e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile them). */
  readonly workerNodeArgs?: readonly string[];
  readonly snapshotDirectory?: string;
  readonly restartStrategy?: string;
  /** More `sluice coordinator` flags (e.g. `--api-keys-file PATH`). */
  readonly coordinatorArgs?: readonly string[];
}

export class ProcessCluster {
  readonly coordinators: ClusterProcess[] = [];
  readonly workers: ClusterProcess[] = [];

  private constructor(readonly options: ProcessClusterOptions) {}

  /**
   * Starts the processes and waits until every worker registered with the leader. A port taken
   * between choosing it and binding it (another test's process got there first) starts the whole
   * cluster again on fresh ports; any other failure stops what was started and is thrown.
   */
  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = new ProcessCluster(options);
      try {
        await cluster.launch();
        return cluster;
      } catch (error) {
        await cluster.stop();
        const portTaken = [...cluster.coordinators, ...cluster.workers].some((p) => readFileSync(p.logFile, 'utf8').includes('EADDRINUSE'));
        if (!portTaken || attempt >= 3) throw error;
      }
    }
  }

  private async launch(): Promise<void> {
    const options = this.options;
    const cluster = this;
    const rpcPorts: number[] = [];
    for (let c = 0; c < options.coordinators; c++) {
      const rpcPort = await freePort();
      const restPort = await freePort();
      rpcPorts.push(rpcPort);
      cluster.coordinators.push(cluster.spawnCoordinator(`coordinator-${c + 1}`, rpcPort, restPort));
    }
    for (let w = 0; w < options.workers; w++) cluster.workers.push(cluster.spawnWorker(`worker-${w + 1}`, rpcPorts));
    const started = await waitFor('every worker to register with the leader, and every coordinator to answer on its REST port', 30_000, async () => {
      const exited = [...cluster.coordinators, ...cluster.workers].find((p) => !cluster.isAlive(p));
      if (exited) return { exited };
      const overview = await cluster.rest('GET', '/v1/overview');
      if (overview.workers.length !== options.workers) return undefined;
      // A standby answers too (503, naming the leader): a test may talk to it at once.
      for (const c of cluster.coordinators) await fetch(`http://127.0.0.1:${c.restPort}/v1/overview`).then((response) => response.body?.cancel());
      return { exited: undefined };
    });
    if (started.exited) {
      const tail = readFileSync(started.exited.logFile, 'utf8').trimEnd().split('\n').slice(-3).join('\n');
      throw new Error(`${started.exited.id} exited while the cluster started:\n${tail}`);
    }
  }

  private spawn(id: string, args: string[], extraEnv: Record<string, string> = {}, nodeArgs: readonly string[] = []): ClusterProcess {
    const logFile = join(this.options.dir, `${id}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Each process fetches packaged code into a cache of its own: nothing but S3 is shared.
      env: { ...this.inheritedEnv(), SLUICE_CLUSTER_TOKEN: TEST_TOKEN, SLUICE_LOG_LEVEL: 'info', SLUICE_CODE_CACHE_DIR: join(this.options.dir, 'code-cache', id), ...extraEnv },
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    return { id, logFile, child };
  }

  /**
   * The test process's environment, without the etcd endpoints `npm test` exports when this
   * cluster was not given any: it runs with embedded HA, and must not campaign in a namespace a
   * leftover coordinator of another run may still lead.
   */
  private inheritedEnv(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    if (!this.options.etcdEndpoints) delete env.SLUICE_ETCD_ENDPOINTS;
    return env;
  }

  private spawnCoordinator(id: string, rpcPort: number, restPort: number): ClusterProcess {
    const o = this.options;
    const args = [
      'coordinator',
      '--id', id,
      '--rpc-port', String(rpcPort),
      '--rest-port', String(restPort),
      '--metrics-port', '0',
      '--checkpoint-directory', o.checkpointDirectory ?? join(o.dir, 'checkpoints'),
      '--snapshot-directory', o.snapshotDirectory ?? join(o.dir, 'snapshots'),
      '--data-directory', o.dir,
      '--checkpoint-interval-ms', String(o.checkpointIntervalMs ?? 500),
      '--min-pause-between-checkpoints-ms', '0',
      '--heartbeat-interval-ms', String(o.heartbeatIntervalMs ?? 250),
      // A worker building an attempt from a fresh clone (tsx compiling the application cold) on a
      // loaded machine missed a 2 s timeout, and the job restarted before the test's fault.
      '--heartbeat-timeout-ms', String(o.heartbeatTimeoutMs ?? 5_000),
      // A new leader waits this long for the workers to re-register before it takes jobs over.
      '--worker-registration-grace-ms', String(Math.max(o.heartbeatTimeoutMs ?? 5_000, 5_000)),
      '--restart-strategy', o.restartStrategy ?? '{"kind":"fixed-delay","attempts":5,"delayMs":200}',
      ...(o.coordinatorArgs ?? []),
    ];
    if (o.etcdEndpoints) args.push('--etcd-endpoints', o.etcdEndpoints.join(','), '--lease-ttl-seconds', String(o.leaseTtlSeconds ?? 2));
    const env: Record<string, string> = o.etcdNamespace ? { SLUICE_ETCD_NAMESPACE: o.etcdNamespace } : {};
    return { ...this.spawn(id, args, env), rpcPort, restPort };
  }

  private spawnWorker(id: string, coordinatorRpcPorts: number[]): ClusterProcess {
    const o = this.options;
    return this.spawn(id, [
      'worker',
      '--id', id,
      '--coordinators', coordinatorRpcPorts.map((p) => `127.0.0.1:${p}`).join(','),
      '--parallelism-per-kpu', String(o.slotsPerWorker),
      '--heartbeat-interval-ms', String(o.heartbeatIntervalMs ?? 250),
      '--state-directory', join(o.dir, 'state', id),
      ...(o.workerArgs ?? []),
    ], {}, o.workerNodeArgs);
  }

  /**
   * A REST call to the leader (found by asking each live coordinator). A submission gets an
   * idempotency key, as the CLI's does; reads and submissions are asked again, for up to 30 s,
   * while no coordinator answers as leader (an election, a leader that lost its lease mid-request).
   */
  async rest(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<any> {
    if (method === 'POST' && path === '/v1/jobs' && typeof body === 'object' && body !== null && !('idempotencyKey' in body)) {
      body = { ...body, idempotencyKey: randomUUID() };
    }
    const idempotent = isIdempotent(method, path, body);
    const deadline = Date.now() + 30_000;
    let lastError: unknown;
    for (let delayMs = 200; ; delayMs = Math.min(delayMs * 2, 2_000)) {
      for (const c of this.coordinators) {
        if (!this.isAlive(c)) continue;
        try {
          // Not following a standby's pointer: it may name a leader that is paused.
          return await restCall({ coordinator: `http://127.0.0.1:${c.restPort}`, token: TEST_TOKEN, followLeader: false, retryForMs: 0 }, method, path, body);
        } catch (error) {
          lastError = error;
          const status = (error as { status?: number }).status;
          if (status !== 503 && status !== 0) throw error;
          // A leader that lost its leadership mid-request: only a request that can be sent again goes on.
          if (status === 503 && !idempotent && (error as { type?: string }).type !== 'NotLeaderError') throw error;
        }
      }
      if (!idempotent || Date.now() + delayMs > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    throw lastError ?? new Error('no coordinator is running');
  }

  /** The index of the coordinator that leads now, if one answers as leader. */
  async leaderIndex(): Promise<number | undefined> {
    for (let i = 0; i < this.coordinators.length; i++) {
      const c = this.coordinators[i]!;
      if (!this.isAlive(c)) continue;
      try {
        await restCall({ coordinator: `http://127.0.0.1:${c.restPort}`, token: TEST_TOKEN, followLeader: false }, 'GET', '/v1/overview');
        return i;
      } catch {
        // a standby, paused or gone
      }
    }
    return undefined;
  }

  async submit(properties: Record<string, Record<string, string>>, parallelism: number): Promise<string> {
    const status = await this.rest('POST', '/v1/jobs', { application: KEYED_COUNT_APP, parallelism, properties });
    return status.jobId;
  }

  job(jobId: string): Promise<any> {
    return this.rest('GET', `/v1/jobs/${jobId}`);
  }

  /**
   * What a job that has not finished still waits for, for a timeout message: its checkpoints, and
   * each subtask its workers report unfinished, with the splits a source subtask has not finished.
   */
  async jobProgress(jobId: string): Promise<string> {
    let job;
    try {
      job = await this.job(jobId);
    } catch (error) {
      return `job ${jobId}: no status (${(error as Error).message})`;
    }
    const { completed, failed, inProgress } = job.checkpoints;
    const open = (job.subtasks as Array<Record<string, any>>).filter((s) => s.state !== 'finished');
    const lines = [
      `job ${jobId}: ${job.state}, attempt ${job.attempt}; checkpoints ${completed} completed, ${failed} failed, in progress: ${inProgress ?? 'none'}; ` +
        `${job.subtasks.length - open.length} of ${job.subtasks.length} reported subtasks finished`,
    ];
    for (const s of open) {
      const splits = s.taskName.startsWith('Source') ? `, splits not finished: ${s.unfinishedSplits?.length ? s.unfinishedSplits.join(', ') : 'none'}` : '';
      lines.push(`  ${s.taskName} on ${s.workerId}: ${s.state}, ${s.recordsIn} records in, ${s.recordsOut} out${s.backPressured ? ', backpressured' : ''}${splits}`);
    }
    return lines.join('\n');
  }

  /** The last lines of every coordinator's log, for a failure message. */
  coordinatorLogTails(lines = 6): string {
    return this.coordinators
      .map((c) => `--- ${c.id} (${this.isAlive(c) ? 'alive' : 'gone'}):\n${readFileSync(c.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  }

  /** JSON log lines of a process. */
  logLines(process: ClusterProcess): Array<Record<string, any>> {
    return readFileSync(process.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
  }

  /**
   * The next JSON log line of a process that `matches`, read straight from its stderr pipe as it
   * is written (not from the log file), so a test can act the instant the process logs it.
   */
  nextLogLine(process: ClusterProcess, matches: (line: Record<string, any>) => boolean, timeoutMs: number): Promise<Record<string, any>> {
    const stderr = process.child.stderr!;
    return new Promise((resolve, reject) => {
      let partial = '';
      const onData = (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop()!;
        for (const text of lines) {
          if (!text.startsWith('{')) continue;
          const line = JSON.parse(text) as Record<string, any>;
          if (!matches(line)) continue;
          stderr.off('data', onData);
          clearTimeout(timer);
          resolve(line);
          return;
        }
      };
      const timer = setTimeout(() => {
        stderr.off('data', onData);
        reject(new Error(`${process.id} logged no matching line within ${timeoutMs} ms`));
      }, timeoutMs);
      stderr.on('data', onData);
    });
  }

  kill(process: ClusterProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
    process.child.kill(signal);
    if (signal === 'SIGSTOP') process.paused = true;
    if (signal === 'SIGCONT') process.paused = false;
  }

  /** Starts a killed worker again under the same id; waits until it registered. */
  async restartWorker(worker: ClusterProcess): Promise<void> {
    const index = this.workers.indexOf(worker);
    const rpcPorts = this.coordinators.map((c) => c.rpcPort!);
    const restarted = this.spawnWorker(worker.id, rpcPorts);
    this.workers[index] = restarted;
    await waitFor(`${worker.id} to register again`, 30_000, async () => {
      const overview = await this.rest('GET', '/v1/overview');
      return overview.workers.some((w: { workerId: string }) => w.workerId === worker.id) ? true : undefined;
    });
  }

  isAlive(process: ClusterProcess): boolean {
    return process.child.exitCode === null && process.child.signalCode === null && !process.paused;
  }

  async stop(): Promise<void> {
    const all = [...this.workers, ...this.coordinators];
    for (const p of all) if (p.paused) this.kill(p, 'SIGCONT');
    for (const p of all) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.all(
      all.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              p.child.kill('SIGKILL');
              resolve();
            }, 5000);
            p.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }
}
