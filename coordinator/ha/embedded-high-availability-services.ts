// In-memory high-availability services for one process: the embedded mode (no etcd configured)
// and unit tests. Candidates are elected in the order they campaigned; epochs count up; fenced
// writes behave as they do against etcd, so code that passes here passes there.

import { ConflictError, FencedError, SluiceError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import {
  checkStoreKey,
  type HighAvailabilityServices,
  type LeaderCandidate,
  type LeaderInfo,
  type Leadership,
} from './high-availability-services.ts';

export interface EmbeddedHighAvailabilityServicesOptions {
  readonly logger?: Logger;
}

interface WaitingCandidate {
  readonly candidate: LeaderCandidate;
  readonly resolve: (leadership: Leadership) => void;
  readonly reject: (error: unknown) => void;
  readonly detach: () => void;
}

class EmbeddedLeadership implements Leadership {
  readonly lost: Promise<string>;
  private resolveLost!: (reason: string) => void;
  private ended = false;

  constructor(
    private readonly owner: EmbeddedHighAvailabilityServices,
    readonly info: LeaderInfo,
  ) {
    this.lost = new Promise((resolve) => { this.resolveLost = resolve; });
  }

  get epoch(): number {
    return this.info.epoch;
  }

  isLeader(): boolean {
    return !this.ended;
  }

  async resign(): Promise<void> {
    this.owner.endLeadership(this, 'resigned');
  }

  /** Called by the owner only; returns false if it had already ended. */
  end(reason: string): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.resolveLost(reason);
    return true;
  }
}

export class EmbeddedHighAvailabilityServices implements HighAvailabilityServices {
  readonly kind = 'embedded' as const;
  private readonly values = new Map<string, string>();
  private readonly waiting: WaitingCandidate[] = [];
  private current: EmbeddedLeadership | undefined;
  private lastEpoch = 0;
  private closed = false;

  constructor(private readonly options: EmbeddedHighAvailabilityServicesOptions = {}) {}

  async campaign(candidate: LeaderCandidate, signal?: AbortSignal): Promise<Leadership> {
    this.checkOpen();
    signal?.throwIfAborted();
    if (this.current === undefined && this.waiting.length === 0) return this.elect(candidate);
    return new Promise<Leadership>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal!.reason);
      };
      const waiter: WaitingCandidate = {
        candidate,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  async leader(): Promise<LeaderInfo | undefined> {
    this.checkOpen();
    return this.current?.info;
  }

  async get(key: string): Promise<string | undefined> {
    this.checkOpen();
    checkStoreKey(key);
    return this.values.get(key);
  }

  async getPrefix(prefix: string): Promise<Map<string, string>> {
    this.checkOpen();
    const found = new Map<string, string>();
    for (const [key, value] of [...this.values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (key.startsWith(prefix)) found.set(key, value);
    }
    return found;
  }

  async putFenced(leadership: Leadership, key: string, value: string, expected?: string | null): Promise<void> {
    checkStoreKey(key);
    this.checkFence(leadership, key);
    if (expected !== undefined) {
      const actual = this.values.get(key);
      if (expected === null ? actual !== undefined : actual !== expected) {
        throw new ConflictError(key, leadership.epoch, expected, actual);
      }
    }
    this.values.set(key, value);
  }

  async getFenced(leadership: Leadership, key: string): Promise<string | undefined> {
    checkStoreKey(key);
    this.checkFence(leadership, key);
    return this.values.get(key);
  }

  async deleteFenced(leadership: Leadership, key: string): Promise<void> {
    checkStoreKey(key);
    this.checkFence(leadership, key);
    this.values.delete(key);
  }

  /**
   * Ends the current leadership as if its lease had expired: what a lost etcd session does.
   * Tests use it to make a standby take over without the leader's help.
   */
  revokeLeadership(reason = 'leadership revoked'): void {
    if (this.current) this.endLeadership(this.current, reason);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) {
      waiter.detach();
      waiter.reject(new SluiceError('high-availability services closed while campaigning'));
    }
    if (this.current) this.endLeadership(this.current, 'high-availability services closed');
  }

  /** @internal Used by EmbeddedLeadership. */
  endLeadership(leadership: EmbeddedLeadership, reason: string): void {
    if (!leadership.end(reason)) return;
    this.options.logger?.info('leadership ended', { epoch: leadership.epoch, leaderId: leadership.info.id, reason });
    if (this.current !== leadership) return;
    this.current = undefined;
    if (this.closed) return;
    const next = this.waiting.shift();
    if (next) {
      next.detach();
      next.resolve(this.elect(next.candidate));
    }
  }

  private elect(candidate: LeaderCandidate): EmbeddedLeadership {
    const info: LeaderInfo = {
      id: candidate.id,
      address: candidate.address,
      ...(candidate.restAddress === undefined ? {} : { restAddress: candidate.restAddress }),
      epoch: ++this.lastEpoch,
    };
    this.current = new EmbeddedLeadership(this, info);
    this.options.logger?.info('elected leader', { epoch: info.epoch, leaderId: info.id });
    return this.current;
  }

  private checkFence(leadership: Leadership, key: string): void {
    if (!(leadership instanceof EmbeddedLeadership) || leadership !== this.current || !leadership.isLeader()) {
      throw new FencedError(key, leadership.epoch, this.current?.epoch, 'it is not the current leadership of these services');
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new SluiceError('high-availability services are closed');
  }
}
