// Runs a pipeline to completion in embedded mode with test-friendly defaults: in-memory
// checkpoints and dead letters, a quiet logger, the system clock unless one is given.

import type { StreamExecutionEnvironment } from '../../shared/api/environment.ts';
import { SystemClock, type Clock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { InMemoryCheckpointStorage, type CheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { InMemoryDeadLetterOutput } from '../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions, type JobResult } from '../runtime/embedded-executor.ts';
import type { StateBackendKind } from '../state/keyed-state-backend.ts';

export interface HarnessOptions extends Partial<Omit<EmbeddedExecutorOptions, 'stateBackend'>> {
  readonly stateBackend?: StateBackendKind;
  readonly clock?: Clock;
  readonly checkpointStorage?: CheckpointStorage;
}

export interface HarnessResult extends JobResult {
  readonly deadLetters: InMemoryDeadLetterOutput;
  readonly logger: InMemoryLogger;
  readonly executor: EmbeddedExecutor;
}

export async function runEmbedded(env: StreamExecutionEnvironment, options: HarnessOptions = {}): Promise<HarnessResult> {
  const deadLetters = (options.deadLetters as InMemoryDeadLetterOutput | undefined) ?? new InMemoryDeadLetterOutput();
  const logger = (options.logger as InMemoryLogger | undefined) ?? new InMemoryLogger();
  const executor = await EmbeddedExecutor.create(env, {
    jobName: 'test-job',
    properties: {},
    clock: options.clock ?? SystemClock.INSTANCE,
    stateBackend: 'memory',
    checkpointStorage: options.checkpointStorage ?? new InMemoryCheckpointStorage(),
    ...options,
    logger,
    deadLetters,
  });
  const result = await executor.run();
  return { ...result, deadLetters, logger, executor };
}

/**
 * Options for an EmbeddedExecutor a test creates itself (to stop it, fail it or restore it):
 * the system clock, the memory backend, a quiet logger and in-memory dead letters, with the test's
 * checkpoint storage and whatever else it sets.
 */
export function embeddedOptions(jobName: string, storage: CheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}): EmbeddedExecutorOptions {
  return {
    jobName,
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: storage,
    deadLetters: new InMemoryDeadLetterOutput(),
    ...extra,
  };
}
