// High-availability services: what lets several coordinators run while only one leads (Flink's
// HighAvailabilityServices + LeaderElectionService). Candidates campaign; the elected one gets a
// Leadership whose epoch fences everything it commits: a write to the store goes through only
// while that leadership still holds, so a leader that was paused, partitioned or replaced cannot
// change anything once someone else leads. Two implementations pass one contract suite:
// etcd (a real cluster) and embedded (one process, in memory).

import { ConfigurationError } from '../../shared/errors.ts';

export interface LeaderCandidate {
  readonly id: string;
  /** Where its gRPC/REST listen, published as the leader value. */
  readonly address: string;
  readonly restAddress?: string;
}

export interface LeaderInfo {
  readonly id: string;
  readonly address: string;
  readonly restAddress?: string;
  readonly epoch: number;
}

export interface Leadership {
  /** etcd: create revision of this leader's election key; in-memory: a counter. */
  readonly epoch: number;
  readonly info: LeaderInfo;
  /** Resolves (never rejects) when leadership is lost: lease expired/revoked, resigned, or the key vanished. */
  readonly lost: Promise<string>;
  isLeader(): boolean;
  resign(): Promise<void>;
}

export interface HighAvailabilityServices {
  readonly kind: 'etcd' | 'embedded';
  /** Campaigns until elected (or the signal aborts: rejects). */
  campaign(candidate: LeaderCandidate, signal?: AbortSignal): Promise<Leadership>;
  /** The current leader, if any. */
  leader(): Promise<LeaderInfo | undefined>;
  get(key: string): Promise<string | undefined>;
  getPrefix(prefix: string): Promise<Map<string, string>>;
  /**
   * Writes `key` only while `leadership` still holds (etcd: one transaction comparing the leader
   * key's create revision == epoch), and, when `expected` is given, only if the current value
   * equals it (null = must be absent). Throws FencedError (leadership gone: an old leader) or
   * ConflictError (value changed).
   */
  putFenced(leadership: Leadership, key: string, value: string, expected?: string | null): Promise<void>;
  deleteFenced(leadership: Leadership, key: string): Promise<void>;
  /**
   * Reads `key` only while `leadership` still holds (etcd: one transaction comparing the leader
   * key's create revision), else throws FencedError. What a leader reads this way it may act on
   * outside the store (delete objects the value no longer names, for one) knowing that, at the
   * time of the read, no other leader had taken over.
   */
  getFenced(leadership: Leadership, key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Store keys may not reach into the election's own keys (`leader/…`), in any implementation. */
export const ELECTION_KEY_PREFIX = 'leader/';

export function checkStoreKey(key: string): void {
  if (key.length === 0) throw new ConfigurationError('key', 'a store key must not be empty');
  if (key.startsWith(ELECTION_KEY_PREFIX)) {
    throw new ConfigurationError('key', `'${key}': keys under '${ELECTION_KEY_PREFIX}' belong to the leader election`);
  }
}

export function isElectionKey(key: string): boolean {
  return key.startsWith(ELECTION_KEY_PREFIX);
}
