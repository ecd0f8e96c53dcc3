// `sluice coordinator`, `sluice worker` and `sluice cluster`: the long-running processes of a
// cluster. Configuration comes from flags, environment (SLUICE_*) and a JSON file (--config),
// validated once (shared/config); the effective configuration is logged with the token redacted.
// `sluice cluster` starts one coordinator and N workers as child processes on this machine for
// development, with a generated cluster token written to <data-dir>/cluster-token.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../shared/application-code/index.ts';
import { SystemClock } from '../shared/clock.ts';
import { ConfigurationError } from '../shared/errors.ts';
import type { Logger } from '../shared/logging.ts';
import {
  COORDINATOR_USAGE,
  describeConfig,
  parseFlags,
  resolveCoordinatorConfig,
  resolveWorkerConfig,
  WORKER_USAGE,
} from '../shared/config/index.ts';
import { createHighAvailabilityServices } from '../coordinator/ha/index.ts';
import { CoordinatorRunner } from '../coordinator/cluster/coordinator-runner.ts';
import { WorkerRunner } from '../worker/cluster/worker-runner.ts';
import { applyObjectStoreSettings } from '../shared/config/object-store-fields.ts';

function waitForSignal(log: Logger): Promise<string> {
  return new Promise((resolveSignal) => {
    const on = (signal: string) => {
      log.info('stopping', { signal });
      resolveSignal(signal);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

export async function coordinatorCommand(args: readonly string[], logger: Logger): Promise<number> {
  const { flags } = parseFlags(args);
  if (flags.help) {
    process.stdout.write(COORDINATOR_USAGE);
    return 0;
  }
  const config = resolveCoordinatorConfig({ flags, env: process.env });
  applyObjectStoreSettings(config);
  const log = logger.child({ coordinator: config.id });
  log.info('coordinator configuration', describeConfig(config));
  const ha = await createHighAvailabilityServices({
    etcdEndpoints: config.etcdEndpoints ?? [],
    leaseTtlSeconds: config.leaseTtlSeconds,
    logger: log,
    ...(process.env.SLUICE_ETCD_NAMESPACE ? { namespace: process.env.SLUICE_ETCD_NAMESPACE } : {}),
  });
  const runner = await CoordinatorRunner.start(config, ha, SystemClock.INSTANCE, log);
  await waitForSignal(log);
  await runner.stop();
  return 0;
}

export async function workerCommand(args: readonly string[], logger: Logger): Promise<number> {
  const { flags } = parseFlags(args);
  if (flags.help) {
    process.stdout.write(WORKER_USAGE);
    return 0;
  }
  const config = resolveWorkerConfig({ flags, env: process.env });
  applyObjectStoreSettings(config);
  const log = logger.child({ worker: config.id });
  log.info('worker configuration', describeConfig(config));
  const runner = await WorkerRunner.start(config, SystemClock.INSTANCE, log);
  await waitForSignal(log);
  await runner.stop();
  return 0;
}

export const CLUSTER_USAGE = `Usage: sluice cluster [--workers N] [--data-dir DIR] [--rest-port PORT] [--rpc-port PORT] [--parallelism-per-kpu N]

Starts a local development cluster: one coordinator (embedded leader election) and N worker
processes on 127.0.0.1. A cluster token is generated and written to <data-dir>/cluster-token;
client commands read it with --cluster-token-file. Ctrl-C stops every process.

  --workers N               worker processes (default 2)
  --data-dir DIR            checkpoints, state and the token (default ./sluice-data)
  --rest-port PORT          coordinator REST port (default 8081)
  --rpc-port PORT           coordinator gRPC port (default 6123)
  --parallelism-per-kpu N   slots per worker (default 1)
`;

export async function clusterCommand(args: readonly string[], logger: Logger): Promise<number> {
  const options: Record<string, string> = { workers: '2', 'data-dir': './sluice-data', 'rest-port': '8081', 'rpc-port': '6123', 'parallelism-per-kpu': '1' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(CLUSTER_USAGE);
      return 0;
    }
    const name = arg.replace(/^--/, '');
    if (!arg.startsWith('--') || !(name in options)) throw new ConfigurationError(arg, `unknown option\n\n${CLUSTER_USAGE}`);
    const value = args[++i];
    if (value === undefined || !/^\d+$/.test(value) && name !== 'data-dir') throw new ConfigurationError(arg, `needs a number${value === undefined ? '' : `, got "${value}"`}`);
    options[name] = value;
  }
  const dataDir = resolve(options['data-dir']!);
  mkdirSync(dataDir, { recursive: true });
  const tokenFile = join(dataDir, 'cluster-token');
  writeFileSync(tokenFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  const bin = join(packageRoot(), 'bin/sluice.mjs');
  const children: ChildProcess[] = [];
  const start = (role: string, extra: string[]) => {
    const child = spawn(process.execPath, [bin, role, '--cluster-token-file', tokenFile, ...extra], { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    return child;
  };
  start('coordinator', ['--rest-port', options['rest-port']!, '--rpc-port', options['rpc-port']!, '--metrics-port', '0', '--checkpoint-directory', join(dataDir, 'checkpoints'), '--data-directory', dataDir]);
  const workers = Number(options.workers);
  for (let w = 0; w < workers; w++) {
    start('worker', ['--id', `worker-${w + 1}`, '--coordinators', `127.0.0.1:${options['rpc-port']}`, '--parallelism-per-kpu', options['parallelism-per-kpu']!, '--state-directory', join(dataDir, 'state', `worker-${w + 1}`)]);
  }
  process.stderr.write(
    `sluice cluster: coordinator REST http://127.0.0.1:${options['rest-port']}, ${workers} workers; token in ${tokenFile}\n` +
      `  submit with: sluice submit app.ts --coordinator http://127.0.0.1:${options['rest-port']} --cluster-token-file ${tokenFile}\n`,
  );
  const exited = new Promise<void>((resolveExit) => children.forEach((c) => c.once('exit', () => resolveExit())));
  await Promise.race([waitForSignal(logger), exited]);
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  return 0;
}
