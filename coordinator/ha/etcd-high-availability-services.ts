// High-availability services on an etcd cluster, through the `etcd3` client.
//
// Election follows etcd's own recipe (client/v3/concurrency/election.go): each candidate grants
// a lease, puts `<namespace>leader/<lease id in hex>` under it, and leads once every election key
// with a lower create revision is gone. The leader's epoch is its key's create revision, which
// grows from one leader to the next. A fenced write is one transaction that compares that create
// revision: once the key is gone (resigned, lease expired or revoked) nothing the old leader sends
// can commit, however late it arrives.
//
// Losing leadership is noticed three ways, whichever comes first:
//   - a lease deadline kept here: each keepalive's send time + TTL, once etcd confirmed it. When
//     it passes with no newer confirmation the lease may have expired, so leadership is given up.
//     The deadline check is a timer, and timers that fell due while the process was paused
//     (SIGSTOP, a long GC, a frozen VM) run as soon as it resumes.
//   - the `etcd3` lease's `lost` event (a keepalive answered with TTL 0, or no keepalive for 2×TTL).
//   - a watch on the leader's own election key: a delete means someone else may lead.
// Whatever ends a leadership then revokes its lease (best effort) so a standby takes over at once.

import { Etcd3, type IKeyValue, type IOperation, type Lease, type MultiRangeBuilder, type Namespace, type Watcher } from 'etcd3';
import { type Cancellable, type Clock, SystemClock } from '../../shared/clock.ts';
import { ConfigurationError, ConflictError, errorChainMessage, ExternalSystemError, FencedError, SluiceError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import {
  ELECTION_KEY_PREFIX,
  checkStoreKey,
  isElectionKey,
  type HighAvailabilityServices,
  type LeaderCandidate,
  type LeaderInfo,
  type Leadership,
} from './high-availability-services.ts';

export interface EtcdHighAvailabilityServicesOptions {
  /** `host:port` or `http://host:port`. */
  readonly endpoints: readonly string[];
  /** Prefix of every key these services use; default `/sluice/`. Must end with `/`. */
  readonly namespace?: string;
  /** TTL of the leader's lease: how long a silent leader keeps leadership at most. */
  readonly leaseTtlSeconds: number;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Deadline of one etcd request (not of watches and keepalive streams); default 5000. */
  readonly requestTimeoutMs?: number;
}

interface ResolvedEtcdOptions {
  readonly endpointUrls: readonly string[];
  readonly namespace: string;
  readonly leaseTtlSeconds: number;
  readonly requestTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

const DEFAULT_NAMESPACE = '/sluice/';
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const MAX_CAMPAIGN_RETRY_DELAY_MS = 5000;

function resolveOptions(options: EtcdHighAvailabilityServicesOptions): ResolvedEtcdOptions {
  if (options.endpoints.length === 0) throw new ConfigurationError('endpoints', 'at least one etcd endpoint is needed');
  const endpointUrls = options.endpoints.map((endpoint) => {
    const trimmed = endpoint.trim();
    if (trimmed.length === 0) throw new ConfigurationError('endpoints', 'an etcd endpoint is empty');
    return /^https?:\/\//.test(trimmed) ? trimmed : `http://${trimmed}`;
  });
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  if (namespace.length === 0 || !namespace.endsWith('/')) {
    throw new ConfigurationError('namespace', `'${namespace}' must be a non-empty prefix ending with '/'`);
  }
  if (!Number.isInteger(options.leaseTtlSeconds) || options.leaseTtlSeconds < 1) {
    throw new ConfigurationError('leaseTtlSeconds', `${options.leaseTtlSeconds} must be a whole number of seconds, at least 1`);
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!(requestTimeoutMs > 0)) throw new ConfigurationError('requestTimeoutMs', `${requestTimeoutMs} must be positive`);
  return {
    endpointUrls,
    namespace,
    leaseTtlSeconds: options.leaseTtlSeconds,
    requestTimeoutMs,
    clock: options.clock ?? SystemClock.INSTANCE,
    logger: options.logger.child({ component: 'etcd-high-availability', namespace }),
  };
}

/** The candidate as published in its election key. */
function encodeLeaderValue(candidate: LeaderCandidate): string {
  return JSON.stringify({
    id: candidate.id,
    address: candidate.address,
    ...(candidate.restAddress === undefined ? {} : { restAddress: candidate.restAddress }),
  });
}

function decodeLeaderValue(kv: IKeyValue): LeaderInfo {
  const epoch = Number(kv.create_revision);
  const text = kv.value.toString();
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (typeof parsed.id === 'string' && typeof parsed.address === 'string') {
      return {
        id: parsed.id,
        address: parsed.address,
        ...(typeof parsed.restAddress === 'string' ? { restAddress: parsed.restAddress } : {}),
        epoch,
      };
    }
  } catch {
    // Not ours (another client campaigning in the same namespace): show it as it is.
  }
  return { id: text, address: text, epoch };
}

/**
 * Follows one lease: until when it is certainly alive (the send time of the newest keepalive etcd
 * confirmed, plus the TTL) and whether the `etcd3` client reported it lost.
 */
class LeaseSession {
  readonly lost: Promise<string>;
  private resolveLost!: (reason: string) => void;
  private lostReason: string | undefined;
  private aliveUntil: number;
  /** Send times of keepalives not yet answered, oldest first, on the current keepalive stream. */
  private unansweredSentAtMs: number[] = [];

  constructor(
    readonly lease: Lease,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    grantSentAtMs: number,
  ) {
    this.aliveUntil = grantSentAtMs + ttlMs;
    this.lost = new Promise((resolve) => { this.resolveLost = resolve; });
    lease.on('keepaliveEstablished', () => { this.unansweredSentAtMs = []; });
    lease.on('keepaliveFired', () => {
      // Bounded: when answers stop coming, keep the oldest send times, which err on the short side.
      if (this.unansweredSentAtMs.length < 64) this.unansweredSentAtMs.push(this.clock.now());
    });
    lease.on('keepaliveSucceeded', (response) => {
      const sentAtMs = this.unansweredSentAtMs.shift();
      if (sentAtMs === undefined) return;
      const grantedMs = Math.min(this.ttlMs, Number(response.TTL) * 1000);
      this.aliveUntil = Math.max(this.aliveUntil, sentAtMs + grantedMs);
    });
    lease.on('lost', (error) => this.markLost(`lease lost: ${error.message}`));
  }

  /** The clock time before which the lease cannot have expired in etcd. */
  get aliveUntilMs(): number {
    return this.aliveUntil;
  }

  isAlive(): boolean {
    return this.lostReason === undefined && this.clock.now() < this.aliveUntil;
  }

  markLost(reason: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    this.resolveLost(reason);
  }
}

/** The campaign's lease or key went away before it was elected: start over with a new lease. */
class CampaignInterruptedError extends SluiceError {
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

class EtcdLeadership implements Leadership {
  readonly lost: Promise<string>;
  private resolveLost!: (reason: string) => void;
  private ended: { readonly reason: string; released: Promise<void> } | undefined;
  private deadlineCheck: Cancellable | undefined;
  private readonly watcher: Watcher;

  constructor(
    readonly owner: EtcdHighAvailabilityServices,
    readonly info: LeaderInfo,
    /** The election key, relative to the namespace. */
    readonly electionKey: string,
    private readonly session: LeaseSession,
    watchFromRevision: number,
    ns: Namespace,
    private readonly config: ResolvedEtcdOptions,
  ) {
    this.lost = new Promise((resolve) => { this.resolveLost = resolve; });
    void session.lost.then((reason) => this.end(reason));
    this.watcher = ns.watch().key(electionKey).startRevision(String(watchFromRevision)).watcher();
    this.watcher.on('delete', () => void this.end('election key deleted from etcd'));
    this.watcher.on('put', (kv) => {
      if (Number(kv.create_revision) !== this.epoch) void this.end('election key replaced in etcd');
    });
    this.watcher.on('error', (error) => void this.end(`watch on the election key failed: ${error.message}`));
    this.scheduleDeadlineCheck();
  }

  get epoch(): number {
    return this.info.epoch;
  }

  get namespace(): string {
    return this.config.namespace;
  }

  /** Why it ended, or undefined while it holds. */
  get endedReason(): string | undefined {
    return this.ended?.reason;
  }

  isLeader(): boolean {
    return this.ended === undefined && this.session.isAlive();
  }

  async resign(): Promise<void> {
    await this.end('resigned');
  }

  /**
   * Ends the leadership once: resolves `lost` at once, then revokes the lease (so the election
   * key goes and a standby is elected) and stops watching. The promise is that release.
   */
  end(reason: string): Promise<void> {
    if (this.ended) return this.ended.released;
    const ended = { reason, released: Promise.resolve() };
    this.ended = ended; // first, so that nothing the release triggers ends it twice
    this.deadlineCheck?.cancel();
    this.session.markLost(reason);
    this.resolveLost(reason);
    this.config.logger.info('leadership ended', { leaderId: this.info.id, epoch: this.epoch, reason });
    ended.released = this.release();
    return ended.released;
  }

  private async release(): Promise<void> {
    const { logger, requestTimeoutMs } = this.config;
    await Promise.all([
      this.session.lease.revoke({ deadline: Date.now() + requestTimeoutMs }).catch((error: unknown) => {
        // The key then goes when the lease expires on its own.
        logger.warn('could not revoke the leader lease', { epoch: this.epoch, error: errorChainMessage(error) });
      }),
      cancelWatcher(this.watcher, this.config.clock, requestTimeoutMs),
    ]);
    this.owner.forget(this);
  }

  private scheduleDeadlineCheck(): void {
    const { clock, leaseTtlSeconds } = this.config;
    const delayMs = Math.max(0, this.session.aliveUntilMs - clock.now());
    this.deadlineCheck = clock.schedule(delayMs, () => {
      if (this.ended) return;
      if (clock.now() >= this.session.aliveUntilMs) {
        void this.end(`lease not confirmed within its TTL of ${leaseTtlSeconds}s (it may have expired in etcd)`);
      } else {
        this.scheduleDeadlineCheck();
      }
    });
  }
}

/** Cancels a watcher, waiting at most `timeoutMs` for etcd to confirm; never rejects. */
async function cancelWatcher(watcher: Watcher, clock: Clock, timeoutMs: number): Promise<void> {
  watcher.removeAllListeners('delete').removeAllListeners('put').removeAllListeners('error');
  watcher.on('error', () => undefined); // an error while cancelling is no news
  let timeout: Cancellable | undefined;
  await Promise.race([
    watcher.cancel().catch(() => undefined),
    new Promise<void>((resolve) => { timeout = clock.schedule(timeoutMs, resolve); }),
  ]);
  timeout?.cancel();
}

/** `work`, unless `stop` aborts first (rejects with its reason) or the lease is lost (rejects with CampaignInterruptedError). */
function unlessInterrupted<T>(work: Promise<T>, stop: AbortSignal, session: LeaseSession): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(stop.reason);
    if (stop.aborted) {
      onAbort();
    } else {
      stop.addEventListener('abort', onAbort, { once: true });
    }
    void session.lost.then((reason) => reject(new CampaignInterruptedError(`campaign interrupted: ${reason}`)));
    work.then(resolve, reject).finally(() => stop.removeEventListener('abort', onAbort));
  });
}

function sleepUnlessAborted(clock: Clock, delayMs: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      task.cancel();
      reject(stop.reason);
    };
    const task = clock.schedule(delayMs, () => {
      stop.removeEventListener('abort', onAbort);
      resolve();
    });
    stop.addEventListener('abort', onAbort, { once: true });
  });
}

export class EtcdHighAvailabilityServices implements HighAvailabilityServices {
  readonly kind = 'etcd' as const;
  private readonly closing = new AbortController();
  private readonly leaderships = new Set<EtcdLeadership>();
  private readonly campaigns = new Set<Promise<unknown>>();
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly client: Etcd3,
    private readonly ns: Namespace,
    private readonly config: ResolvedEtcdOptions,
  ) {}

  /** Connects and checks that etcd answers; fails with an ExternalSystemError naming the endpoints if not. */
  static async create(options: EtcdHighAvailabilityServicesOptions): Promise<EtcdHighAvailabilityServices> {
    const config = resolveOptions(options);
    const client = new Etcd3({
      hosts: [...config.endpointUrls],
      dialTimeout: config.requestTimeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + config.requestTimeoutMs }),
    });
    try {
      const status = await client.maintenance.status();
      config.logger.info('connected to etcd', {
        endpoints: config.endpointUrls,
        etcdVersion: status.version,
        leaseTtlSeconds: config.leaseTtlSeconds,
        requestTimeoutMs: config.requestTimeoutMs,
      });
    } catch (error) {
      client.close();
      throw new ExternalSystemError(`etcd at ${config.endpointUrls.join(', ')} did not answer: ${errorChainMessage(error)}`, {
        cause: error,
        retriable: true,
      });
    }
    return new EtcdHighAvailabilityServices(client, client.namespace(config.namespace), config);
  }

  /** The namespace every key of these services lives under. */
  get namespace(): string {
    return this.config.namespace;
  }

  async campaign(candidate: LeaderCandidate, signal?: AbortSignal): Promise<Leadership> {
    this.checkOpen();
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    stop.throwIfAborted();
    const campaign = this.campaignUntilElected(candidate, stop);
    this.campaigns.add(campaign);
    try {
      return await campaign;
    } finally {
      this.campaigns.delete(campaign);
    }
  }

  async leader(): Promise<LeaderInfo | undefined> {
    this.checkOpen();
    const response = await this.etcdCall('read the leader', () => this.currentLeaderQuery().exec());
    const kv = response.kvs[0];
    return kv === undefined ? undefined : decodeLeaderValue(kv);
  }

  async get(key: string): Promise<string | undefined> {
    this.checkOpen();
    checkStoreKey(key);
    const value = await this.etcdCall(`read '${key}'`, () => this.ns.get(key).string());
    return value ?? undefined;
  }

  async getPrefix(prefix: string): Promise<Map<string, string>> {
    this.checkOpen();
    const response = await this.etcdCall(`read the keys under '${prefix}'`, () => this.ns.getAll().prefix(prefix).exec());
    const found = new Map<string, string>();
    for (const kv of response.kvs) {
      const key = kv.key.toString();
      if (!isElectionKey(key)) found.set(key, kv.value.toString());
    }
    return found;
  }

  async putFenced(leadership: Leadership, key: string, value: string, expected?: string | null): Promise<void> {
    this.checkOpen();
    checkStoreKey(key);
    const own = await this.holdingLeadership(leadership, key);
    await this.commitFenced(own, key, this.ns.put(key).value(value), expected);
  }

  async deleteFenced(leadership: Leadership, key: string): Promise<void> {
    this.checkOpen();
    checkStoreKey(key);
    const own = await this.holdingLeadership(leadership, key);
    await this.commitFenced(own, key, this.ns.delete().key(key), undefined);
  }

  async getFenced(leadership: Leadership, key: string): Promise<string | undefined> {
    this.checkOpen();
    checkStoreKey(key);
    const own = await this.holdingLeadership(leadership, key);
    const epoch = own.epoch;
    const result = await this.etcdCall(`read '${key}' fenced at epoch ${epoch}`, () =>
      this.ns.if(own.electionKey, 'Create', '==', epoch).then(this.ns.get(key)).else(this.currentLeaderQuery()).commit(),
    );
    if (!result.succeeded) {
      const leaderKv = result.responses[0]?.response_range?.kvs[0];
      void own.end('a fenced read found the election key gone');
      throw new FencedError(key, epoch, leaderKv === undefined ? undefined : Number(leaderKv.create_revision), `etcd no longer has the election key ${this.config.namespace}${own.electionKey} created at revision ${epoch}`);
    }
    return result.responses[0]?.response_range?.kvs[0]?.value.toString() ?? undefined;
  }

  /** Ends every leadership won here (revoking its lease), stops campaigns, then closes the client. */
  close(): Promise<void> {
    this.closed ??= this.closeOnce();
    return this.closed;
  }

  /** @internal Called by a leadership once it has released its lease. */
  forget(leadership: EtcdLeadership): void {
    this.leaderships.delete(leadership);
  }

  private async closeOnce(): Promise<void> {
    this.closing.abort(new SluiceError('high-availability services closed'));
    await Promise.all([...this.leaderships].map((leadership) => leadership.end('high-availability services closed')));
    await Promise.allSettled([...this.campaigns]);
    this.client.close();
    this.config.logger.debug('closed');
  }

  private async campaignUntilElected(candidate: LeaderCandidate, stop: AbortSignal): Promise<Leadership> {
    const logger = this.config.logger.child({ candidateId: candidate.id });
    const value = encodeLeaderValue(candidate);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.campaignOnce(candidate, value, stop, logger);
      } catch (error) {
        if (stop.aborted) throw stop.reason;
        const delayMs = Math.min(MAX_CAMPAIGN_RETRY_DELAY_MS, 100 * 2 ** Math.min(attempt, 6));
        logger.warn('campaign attempt failed; campaigning again', { attempt, delayMs, error: errorChainMessage(error) });
        await sleepUnlessAborted(this.config.clock, delayMs, stop);
      }
    }
  }

  private async campaignOnce(candidate: LeaderCandidate, value: string, stop: AbortSignal, logger: Logger): Promise<Leadership> {
    const { clock, leaseTtlSeconds } = this.config;
    const grantSentAtMs = clock.now();
    const session = new LeaseSession(this.ns.lease(leaseTtlSeconds), leaseTtlSeconds * 1000, clock, grantSentAtMs);
    try {
      const leaseId = await unlessInterrupted(session.lease.grant(), stop, session);
      const electionKey = `${ELECTION_KEY_PREFIX}${BigInt(leaseId).toString(16)}`;
      const created = await unlessInterrupted(
        this.ns.if(electionKey, 'Create', '==', 0).then(this.ns.put(electionKey).value(value).lease(leaseId)).commit(),
        stop,
        session,
      );
      if (!created.succeeded) throw new CampaignInterruptedError(`election key ${electionKey} already existed`);
      const epoch = Number(created.header.revision);
      logger.info('campaigning', { epoch, electionKey: this.config.namespace + electionKey });
      await this.waitForPredecessors(epoch, stop, session, logger);
      // As in etcd's Go client: while we waited the lease may have expired and taken the key.
      const check = await unlessInterrupted(this.ns.get(electionKey).exec(), stop, session);
      const kv = check.kvs[0];
      if (kv === undefined || Number(kv.create_revision) !== epoch) {
        throw new CampaignInterruptedError(`election key ${electionKey} vanished while campaigning`);
      }
      const info: LeaderInfo = { ...decodeLeaderValue(kv), epoch };
      const leadership = new EtcdLeadership(this, info, electionKey, session, Number(check.header.revision) + 1, this.ns, this.config);
      this.leaderships.add(leadership);
      logger.info('elected leader', { epoch, address: candidate.address });
      return leadership;
    } catch (error) {
      session.markLost('campaign ended without leadership');
      // Revoking deletes our election key, so no later candidate waits on it.
      await session.lease.revoke({ deadline: Date.now() + this.config.requestTimeoutMs }).catch(() => undefined);
      throw error;
    }
  }

  /** Returns once no election key created before `epoch` is left: then `epoch` leads. */
  private async waitForPredecessors(epoch: number, stop: AbortSignal, session: LeaseSession, logger: Logger): Promise<void> {
    for (;;) {
      const response = await unlessInterrupted(
        this.ns
          .getAll()
          .prefix(ELECTION_KEY_PREFIX)
          .maxCreateRevision(String(epoch - 1))
          .sort('Create', 'Descend')
          .limit(1)
          .exec(),
        stop,
        session,
      );
      const predecessor = response.kvs[0];
      if (predecessor === undefined) return;
      const predecessorKey = predecessor.key.toString();
      logger.debug('waiting for the candidate before us to go', {
        epoch,
        predecessorEpoch: Number(predecessor.create_revision),
      });
      await this.waitForDelete(predecessorKey, Number(response.header.revision) + 1, stop, session);
    }
  }

  private async waitForDelete(key: string, fromRevision: number, stop: AbortSignal, session: LeaseSession): Promise<void> {
    const watcher = this.ns.watch().key(key).startRevision(String(fromRevision)).only('delete').watcher();
    try {
      await unlessInterrupted(
        new Promise<void>((resolve, reject) => {
          watcher.on('delete', () => resolve());
          watcher.on('error', reject);
        }),
        stop,
        session,
      );
    } finally {
      await cancelWatcher(watcher, this.config.clock, this.config.requestTimeoutMs);
    }
  }

  private currentLeaderQuery(): MultiRangeBuilder {
    return this.ns.getAll().prefix(ELECTION_KEY_PREFIX).sort('Create', 'Ascend').limit(1);
  }

  /**
   * The leadership as an etcd leadership of this election, if it has not ended; a FencedError
   * otherwise. It may have been won through another instance on the same namespace: the
   * transaction needs only its election key and epoch.
   */
  private async holdingLeadership(leadership: Leadership, key: string): Promise<EtcdLeadership> {
    if (!(leadership instanceof EtcdLeadership) || leadership.namespace !== this.config.namespace) {
      throw new FencedError(key, leadership.epoch, await this.leaderEpochOrUndefined(), `that leadership is not one of the election under ${this.config.namespace}`);
    }
    const reason = leadership.endedReason;
    if (reason !== undefined) {
      throw new FencedError(key, leadership.epoch, await this.leaderEpochOrUndefined(), `leadership already lost (${reason})`);
    }
    return leadership;
  }

  private async leaderEpochOrUndefined(): Promise<number | undefined> {
    try {
      return (await this.leader())?.epoch;
    } catch {
      return undefined; // only for an error message
    }
  }

  /**
   * One transaction: `operation` runs only if the election key still has create revision
   * `epoch` (and the value compare holds); otherwise it reads what is needed to say why.
   * A request that fails in transit may or may not have committed: the ExternalSystemError says
   * so, and the caller re-reads before retrying.
   */
  private async commitFenced(
    leadership: EtcdLeadership,
    key: string,
    operation: IOperation,
    expected: string | null | undefined,
  ): Promise<void> {
    const epoch = leadership.epoch;
    let transaction = this.ns.if(leadership.electionKey, 'Create', '==', epoch);
    if (expected === null) transaction = transaction.and(key, 'Create', '==', 0);
    else if (expected !== undefined) transaction = transaction.and(key, 'Value', '==', expected);
    const result = await this.etcdCall(`commit the fenced write of '${key}' at epoch ${epoch}`, () =>
      transaction
        .then(operation)
        .else(this.ns.get(leadership.electionKey), this.ns.get(key), this.currentLeaderQuery())
        .commit(),
    );
    if (result.succeeded) return;
    const [electionRange, valueRange, leaderRange] = result.responses.map((response) => response.response_range);
    const electionKv = electionRange?.kvs[0];
    if (electionKv === undefined || Number(electionKv.create_revision) !== epoch) {
      const leaderKv = leaderRange?.kvs[0];
      const error = new FencedError(
        key,
        epoch,
        leaderKv === undefined ? undefined : Number(leaderKv.create_revision),
        `etcd no longer has the election key ${this.config.namespace}${leadership.electionKey} created at revision ${epoch}`,
      );
      void leadership.end('a fenced write found the election key gone');
      throw error;
    }
    throw new ConflictError(key, epoch, expected ?? null, valueRange?.kvs[0]?.value.toString());
  }

  private async etcdCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new ExternalSystemError(`etcd: could not ${what}: ${errorChainMessage(error)}`, { cause: error, retriable: true });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new SluiceError('high-availability services are closed');
  }
}
