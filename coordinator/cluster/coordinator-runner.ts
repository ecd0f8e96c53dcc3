// The coordinator process (`sluice coordinator`): serves gRPC to workers and REST to clients,
// campaigns for the leadership, and while it leads runs a Dispatcher. On losing the leadership
// (lease expired, a fenced write refused, a worker rejecting its epoch) it drops the dispatcher
// without touching any worker and campaigns again as a standby.

import { normalizeLocation } from '../../shared/checkpoint/restore-path.ts';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage, NotLeaderError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { CoordinatorMetrics, createProcessRegistry, startMetricsServer, type MetricsServer } from '../../shared/metrics/index.ts';
import { RpcServer, serve } from '../../shared/rpc/rpc.ts';
import { COORDINATOR_GATEWAY } from '../../shared/rpc/coordinator-gateway.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';
import type { CoordinatorConfig } from '../../shared/config/index.ts';
import { FileAccessKeyStore } from '../applications/access-keys.ts';
import { createApplicationsApiListener } from '../applications/applications-api.ts';
import { ApplicationService } from '../applications/application-service.ts';
import { DispatcherApplicationJobs } from '../applications/dispatcher-application-jobs.ts';
import { Dispatcher } from './dispatcher.ts';
import { startRestServer, type RestServer } from './rest-server.ts';

/** What the coordinator process needs of its configuration. */
export type CoordinatorRunnerConfig = Pick<
  CoordinatorConfig,
  | 'id'
  | 'host'
  | 'rpcPort'
  | 'restPort'
  | 'metricsPort'
  | 'clusterToken'
  | 'heartbeatIntervalMs'
  | 'heartbeatTimeoutMs'
  | 'checkpointDirectory'
  | 'snapshotDirectory'
  | 'checkpointTimeoutMs'
  | 'tolerableFailedCheckpoints'
  | 'checkpointIntervalMs'
  | 'minPauseBetweenCheckpointsMs'
  | 'retainedCheckpoints'
  | 'restartStrategy'
  | 'workerRegistrationGraceMs'
  | 'apiKeysFile'
  | 'apiRegion'
  | 'apiAccountId'
  | 'autoscalingIntervalMs'
>;

/** Flink's default checkpoint timeout: a checkpoint not acknowledged by then is dropped. */

export class CoordinatorRunner {
  private dispatcher: Dispatcher | undefined;
  /** The applications (kinesisanalyticsv2) while this coordinator leads and the API is on. */
  private applications: ApplicationService | undefined;
  private leadership: Leadership | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private rpc!: RpcServer;
  private rest!: RestServer;
  private metrics!: MetricsServer;
  private campaigning: Promise<void> | undefined;
  private readonly log: Logger;

  private constructor(
    private readonly config: CoordinatorRunnerConfig,
    private readonly ha: HighAvailabilityServices,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.log = logger.child({ coordinator: config.id });
  }

  static async start(config: CoordinatorRunnerConfig, ha: HighAvailabilityServices, clock: Clock, logger: Logger): Promise<CoordinatorRunner> {
    const runner = new CoordinatorRunner(config, ha, clock, logger);
    try {
      await runner.startServers();
    } catch (error) {
      // A port taken, a keys file that does not load: close what did start, so the process exits.
      await Promise.allSettled([runner.rpc?.close(), runner.rest?.close(), runner.metrics?.close()]);
      await ha.close();
      throw error;
    }
    runner.campaigning = runner.campaignLoop();
    return runner;
  }

  get rpcAddress(): string {
    return this.rpc.address;
  }

  get restAddress(): string {
    return this.rest.address;
  }

  get metricsAddress(): string {
    return this.metrics.address;
  }

  private leaderDispatcher(): Dispatcher {
    if (!this.dispatcher) throw new NotLeaderError(`coordinator ${this.config.id} is not the leader`);
    return this.dispatcher;
  }

  /** For REST: a standby's refusal names the leader's REST address, which clients follow. */
  private async leaderDispatcherOrLeaderAddress(): Promise<Dispatcher> {
    if (this.dispatcher) return this.dispatcher;
    const leader = await this.ha.leader().catch(() => undefined);
    throw new NotLeaderError(`coordinator ${this.config.id} is not the leader`, leader?.restAddress);
  }

  private async startServers(): Promise<void> {
    const { config } = this;
    this.rpc = await RpcServer.start({
      host: config.host,
      port: config.rpcPort,
      token: config.clusterToken,
      logger: this.log,
      // Each call goes to the current leader's dispatcher; a standby refuses it as not the leader.
      services: [serve(COORDINATOR_GATEWAY, () => this.leaderDispatcher().gatewayHandlers)],
    });
    const keys = config.apiKeysFile === undefined ? undefined : await FileAccessKeyStore.load(config.apiKeysFile);
    this.rest = await startRestServer({
      host: config.host,
      port: config.restPort,
      token: config.clusterToken,
      logger: this.log,
      dispatcher: () => this.leaderDispatcherOrLeaderAddress(),
      describe: () => ({ coordinatorId: config.id, leader: this.dispatcher !== undefined, haKind: this.ha.kind, metricsAddress: this.metrics?.address }),
      ...(keys === undefined
        ? {}
        : {
            applicationsApi: createApplicationsApiListener({
              keys,
              clock: this.clock,
              logger: this.log,
              region: config.apiRegion,
              service: () => this.applications,
              leaderRestAddress: async () => {
                const leader = await this.ha.leader();
                return leader?.restAddress !== undefined && leader.restAddress !== this.rest.address ? leader.restAddress : undefined;
              },
            }),
          }),
    });
    if (keys) this.log.info('applications API on the REST port', { keysFile: config.apiKeysFile, region: config.apiRegion });
    const registry = createProcessRegistry();
    const metrics = new CoordinatorMetrics(registry, { coordinatorId: config.id, logger: this.log });
    metrics.setJobSampler(() => {
      const overview = this.dispatcher?.overview();
      metrics.setNumRegisteredTaskManagers(overview?.workers.length ?? 0);
      metrics.setTaskSlots(overview?.slotsTotal ?? 0, overview?.slotsFree ?? 0);
      return (this.dispatcher?.listJobs() ?? []).map((job) => ({
        jobId: job.jobId,
        jobName: job.jobName,
        numRestarts: job.numRestarts,
        lastCheckpointDurationMs: job.checkpoints.latest?.durationMs ?? Number.NaN,
        lastCheckpointSizeBytes: job.checkpoints.latest?.bytes ?? Number.NaN,
        numberOfCompletedCheckpoints: job.checkpoints.completed,
        numberOfFailedCheckpoints: job.checkpoints.failed,
        numberOfInProgressCheckpoints: job.checkpoints.inProgress === null ? 0 : 1,
        uptimeMs: job.state === 'running' ? this.clock.now() - job.submittedAtMs : 0,
        state: job.state,
      }));
    });
    this.coordinatorMetrics = metrics;
    this.metrics = await startMetricsServer({ host: config.host, port: config.metricsPort, registry, logger: this.log });
    this.log.info('coordinator listening', { rpc: this.rpc.address, rest: this.rest.address, metrics: this.metrics.address, ha: this.ha.kind });
  }

  private coordinatorMetrics: CoordinatorMetrics | undefined;

  private async campaignLoop(): Promise<void> {
    while (!this.stopped) {
      let leadership: Leadership;
      try {
        leadership = await this.ha.campaign({ id: this.config.id, address: this.rpc.address, restAddress: this.rest.address }, this.abort.signal);
      } catch (error) {
        if (this.stopped) return;
        this.log.error('campaign failed; retrying', { error: errorChainMessage(error) });
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      this.leadership = leadership;
      const log = this.log.child({ epoch: leadership.epoch });
      log.info('elected leader', { epoch: leadership.epoch });
      this.coordinatorMetrics?.setLeader(true);
      let fenced: (reason: string) => void = () => {};
      const steppedDown = new Promise<string>((resolve) => (fenced = resolve));
      const dispatcher = new Dispatcher({
        coordinatorId: this.config.id,
        ha: this.ha,
        leadership,
        clock: this.clock,
        logger: log,
        token: this.config.clusterToken,
        checkpointing: {
          checkpointRoot: normalizeLocation(this.config.checkpointDirectory),
          snapshotRoot: normalizeLocation(this.config.snapshotDirectory),
          checkpointIntervalMs: this.config.checkpointIntervalMs,
          minPauseBetweenCheckpointsMs: this.config.minPauseBetweenCheckpointsMs,
          retainedCheckpoints: this.config.retainedCheckpoints,
          checkpointTimeoutMs: this.config.checkpointTimeoutMs,
          tolerableFailedCheckpoints: this.config.tolerableFailedCheckpoints,
        },
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        heartbeatTimeoutMs: this.config.heartbeatTimeoutMs,
        workerRegistrationGraceMs: this.config.workerRegistrationGraceMs,
        restartStrategy: this.config.restartStrategy,
        onFenced: (error) => fenced(`fenced: ${errorChainMessage(error)}`),
      });
      this.dispatcher = dispatcher;
      const applications =
        this.config.apiKeysFile === undefined
          ? undefined
          : new ApplicationService({
              ha: this.ha,
              leadership,
              clock: this.clock,
              logger: log,
              jobs: new DispatcherApplicationJobs(dispatcher),
              region: this.config.apiRegion,
              accountId: this.config.apiAccountId,
              autoscalingIntervalMs: this.config.autoscalingIntervalMs,
              onFenced: (error) => fenced(`fenced: ${errorChainMessage(error)}`),
            });
      // Applications resume their operations once the dispatcher has taken the jobs over.
      dispatcher
        .start()
        .then(async () => {
          if (!applications) return;
          this.applications = applications;
          await applications.start();
        })
        .catch((error: unknown) => fenced(`could not start leading: ${errorChainMessage(error)}`));
      const reason = await Promise.race([leadership.lost, steppedDown]);
      this.applications = undefined;
      applications?.dispose();
      this.dispatcher = undefined;
      dispatcher.dispose();
      this.coordinatorMetrics?.setLeader(false);
      this.leadership = undefined;
      if (this.stopped) return;
      log.warn('lost the leadership: stepped down', { reason });
      await leadership.resign().catch(() => {});
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    const dispatcher = this.dispatcher;
    this.dispatcher = undefined;
    this.applications?.dispose();
    this.applications = undefined;
    dispatcher?.dispose();
    await this.leadership?.resign().catch(() => {});
    await this.campaigning?.catch(() => {});
    await Promise.allSettled([this.rpc.close(), this.rest.close(), this.metrics.close()]);
    await this.ha.close();
  }
}
