// `sluice run`: loads the application, builds its pipeline, runs it embedded with checkpoints in
// a local directory (or s3://…), restores when asked, reports progress, and stops cleanly on Ctrl-C.

import { resolve } from 'node:path';
import { SystemClock } from '../shared/clock.ts';
import { RestoreError } from '../shared/errors.ts';
import type { Logger } from '../shared/logging.ts';
import { openCheckpointStorage, type CheckpointStorage } from '../shared/checkpoint/checkpoint-storage.ts';
import { normalizeLocation, openRestorePath } from '../shared/checkpoint/restore-path.ts';
import { applyObjectStoreSettings } from '../shared/config/object-store-fields.ts';
import { FileDeadLetterOutput } from '../worker/runtime/dead-letter.ts';
import { EmbeddedExecutor, type RestoreSource } from '../worker/runtime/embedded-executor.ts';
import { buildApplication } from '../shared/load-application.ts';
import type { StreamExecutionEnvironment } from '../shared/api/environment.ts';
import { createProcessRegistry, startMetricsServer } from '../shared/metrics/index.ts';
import { UserMetricRegistry } from '../shared/metrics/user-metrics.ts';
import { ProgressReporter } from './progress.ts';
import type { RunOptions } from './run-options.ts';

async function resolveRestore(options: RunOptions, storage: CheckpointStorage): Promise<RestoreSource | undefined> {
  const restore = options.restore;
  if (restore === undefined) return undefined;
  if (restore === 'latest') {
    const completed = await storage.listCompleted();
    if (completed.length === 0) {
      throw new RestoreError(`--restore latest: ${storage.location} has no completed checkpoint (a chk-N directory with _metadata)`);
    }
    return { storage, checkpointId: completed[completed.length - 1]!, allowNonRestoredState: options.allowNonRestoredState };
  }
  try {
    return await openRestorePath(restore.checkpointPath, options.allowNonRestoredState);
  } catch (error) {
    if (error instanceof RestoreError) throw new RestoreError(`--restore ${error.message}`, { cause: error });
    throw error;
  }
}

export async function runCommand(options: RunOptions, logger: Logger): Promise<number> {
  const log = logger.child({ application: options.jobName, job: options.jobName });
  log.info('starting', {
    application: options.application,
    parallelism: options.parallelism ?? null,
    maxParallelism: options.maxParallelism ?? null,
    stateBackend: options.stateBackend,
    checkpointIntervalMs: options.checkpointIntervalMs ?? null,
    checkpointDirectory: options.checkpointDirectory,
    restore: options.restore ?? null,
    properties: options.properties,
  });
  const env = await buildApplication(options.application, options.jobName, options.properties);
  applyObjectStoreSettings(options);
  if (!options.metrics) return await runEmbedded(options, env, log, undefined);
  const registry = createProcessRegistry();
  const server = await startMetricsServer({ ...options.metrics, registry, logger: log });
  try {
    return await runEmbedded(options, env, log, new UserMetricRegistry(registry));
  } finally {
    await server.close();
  }
}

async function runEmbedded(options: RunOptions, env: StreamExecutionEnvironment, log: Logger, userMetrics: UserMetricRegistry | undefined): Promise<number> {
  const storage = openCheckpointStorage(normalizeLocation(options.checkpointDirectory), 'checkpoints', '--checkpoint-dir');
  const restore = await resolveRestore(options, storage);
  const executor = await EmbeddedExecutor.create(env, {
    jobName: env.settings.jobName ?? options.jobName,
    properties: options.properties,
    clock: SystemClock.INSTANCE,
    logger: log,
    stateBackend: options.stateBackend,
    ...(options.stateDirectory ? { stateDirectory: options.stateDirectory } : {}),
    checkpointStorage: storage,
    checkpointIntervalMs: env.settings.checkpointIntervalMs ?? options.checkpointIntervalMs,
    retainedCheckpoints: options.retainedCheckpoints,
    ...(restore ? { restore } : {}),
    deadLetters: new FileDeadLetterOutput(resolve(options.deadLetterPath)),
    ...(options.parallelism ? { parallelism: options.parallelism } : {}),
    ...(options.maxParallelism ? { maxParallelism: options.maxParallelism } : {}),
    ...(userMetrics ? { userMetrics } : {}),
  });

  const progress = new ProgressReporter(() => executor.getStatus(), log, process.stderr);
  const onSignal = (signal: string) => {
    log.info('stopping: taking a last checkpoint', { signal });
    executor.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  progress.start();
  try {
    const result = await executor.run();
    progress.stop();
    const s = result.status;
    log.info('done', {
      state: result.state,
      recordsRead: s.recordsRead,
      recordsWritten: s.recordsWritten,
      lateRecordsDropped: s.lateRecordsDropped,
      deadLetters: s.deadLetters,
      checkpoints: s.checkpoints.completed,
    });
    return 0;
  } finally {
    progress.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
