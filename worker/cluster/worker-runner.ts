// The worker process (`sluice worker`): the data plane (records between workers), the gRPC
// WorkerGateway (the leader's calls), Prometheus metrics, and the TaskExecutor that registers with
// the leader and runs the attempts it deploys.

import { UserMetricRegistry } from '../../shared/metrics/user-metrics.ts';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { createProcessRegistry, startMetricsServer, WorkerMetrics, type MetricsServer } from '../../shared/metrics/index.ts';
import { RpcServer, serve } from '../../shared/rpc/rpc.ts';
import { WORKER_GATEWAY } from '../../shared/rpc/worker-gateway.ts';
import { DataPlane } from '../network/data-plane.ts';
import { FileDeadLetterOutput } from '../runtime/dead-letter.ts';
import type { WorkerConfig } from '../../shared/config/index.ts';
import { eventLoopSaturation, TokenBucketRateLimiter } from './checkpoint-rate-limiter.ts';
import { TaskExecutor } from './task-executor.ts';
import { join } from 'node:path';

/** What the worker process needs of its configuration. */
export type WorkerRunnerConfig = Pick<
  WorkerConfig,
  | 'id'
  | 'host'
  | 'rpcPort'
  | 'dataPort'
  | 'metricsPort'
  | 'coordinators'
  | 'clusterToken'
  | 'slots'
  | 'stateBackend'
  | 'stateDirectory'
  | 'heartbeatIntervalMs'
  | 'checkpointRateLimitMb'
  | 'stateCacheEntries'
>;

export class WorkerRunner {
  private constructor(
    readonly executor: TaskExecutor,
    private readonly dataPlane: DataPlane,
    private readonly rpc: RpcServer,
    private readonly metricsServer: MetricsServer,
    private readonly metrics: WorkerMetrics,
  ) {}

  static async start(config: WorkerRunnerConfig, clock: Clock, logger: Logger): Promise<WorkerRunner> {
    const log = logger.child({ worker: config.id });
    const dataPlane = await DataPlane.create({ host: config.host, port: config.dataPort, token: config.clusterToken ?? '', workerId: config.id, logger: log });
    const registry = createProcessRegistry();
    const metrics = new WorkerMetrics(registry, { tmId: config.id, clock, logger: log });
    const metricsServer = await startMetricsServer({ host: config.host, port: config.metricsPort, registry, logger: log });
    let executor: TaskExecutor | undefined;
    const rpc = await RpcServer.start({
      host: config.host,
      port: config.rpcPort,
      token: config.clusterToken,
      logger: log,
      // The executor needs the server's address, so it comes after; no leader calls a worker before it registered.
      services: [serve(WORKER_GATEWAY, () => executor!.handlers)],
    });
    executor = new TaskExecutor({
      workerId: config.id,
      rpcAddress: rpc.address,
      dataAddress: dataPlane.address,
      metricsAddress: metricsServer.address,
      slots: config.slots,
      coordinators: config.coordinators,
      token: config.clusterToken,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      stateBackend: config.stateBackend,
      stateDirectory: config.stateDirectory,
      ...(config.stateCacheEntries === undefined ? {} : { stateCacheEntries: config.stateCacheEntries }),
      ...(config.checkpointRateLimitMb > 0 ? { checkpointLimiter: new TokenBucketRateLimiter(config.checkpointRateLimitMb * 2 ** 20, clock, eventLoopSaturation()) } : {}),
      clock,
      logger: log,
      dataPlane,
      deadLetters: new FileDeadLetterOutput(join(config.stateDirectory, 'dead-letters.jsonl')),
      userMetrics: new UserMetricRegistry(registry),
    });
    dataPlane.onChannelFailure((error, channelKeys) => {
      const attempts = new Set(channelKeys.map((key) => key.split('/').slice(0, 2).join('/')));
      for (const attempt of attempts) {
        const [jobId, number] = attempt.split('/');
        executor!.failAttempt(jobId!, Number(number), new Error(`data plane: ${errorChainMessage(error)}`));
      }
    });
    metrics.setTaskSampler(() =>
      executor!.getStatus().running.flatMap((attempt) =>
        attempt.subtasks.map((s) => ({
          jobId: attempt.jobId,
          jobName: attempt.jobName,
          taskName: s.taskName,
          subtaskIndex: s.subtask,
          attempt: attempt.attempt,
          recordsIn: s.recordsIn,
          recordsOut: s.recordsOut,
          busyTimeMs: s.busyTimeMs,
          backPressuredTimeMs: s.backPressuredTimeMs,
          lateRecordsDropped: s.lateRecordsDropped,
          pendingRecords: s.pendingRecords,
          currentInputWatermark: s.watermark,
        })),
      ),
    );
    executor.start();
    log.info('worker started', { rpc: rpc.address, data: dataPlane.address, metrics: metricsServer.address, slots: config.slots, coordinators: config.coordinators, stateBackend: config.stateBackend });
    return new WorkerRunner(executor, dataPlane, rpc, metricsServer, metrics);
  }

  get rpcAddress(): string {
    return this.rpc.address;
  }

  get dataAddress(): string {
    return this.dataPlane.address;
  }

  get metricsAddress(): string {
    return this.metricsServer.address;
  }

  async stop(): Promise<void> {
    await this.executor.stop();
    this.metrics.close();
    await Promise.allSettled([this.rpc.close(), this.metricsServer.close(), this.dataPlane.close()]);
  }
}
