// Key-group arithmetic, exactly Flink's (KeyGroupRangeAssignment). Keyed state and keyed
// exchanges are addressed by key group; rescaling moves whole key groups. This module is frozen
// once state exists: changing any function here breaks every snapshot.

import { keyHashCode } from './key-hash.ts';

export const UPPER_BOUND_MAX_PARALLELISM = 1 << 15; // 32768
export const DEFAULT_LOWER_BOUND_MAX_PARALLELISM = 1 << 7; // 128

/** An immutable, inclusive range of key groups. `KeyGroupRange.EMPTY` has no key group. */
export class KeyGroupRange {
  static readonly EMPTY = new KeyGroupRange(0, -1);

  private constructor(
    readonly startKeyGroup: number,
    readonly endKeyGroup: number,
  ) {}

  static of(startKeyGroup: number, endKeyGroup: number): KeyGroupRange {
    if (!Number.isInteger(startKeyGroup) || startKeyGroup < 0) {
      throw new RangeError(`startKeyGroup must be a non-negative integer, got ${startKeyGroup}`);
    }
    if (!Number.isInteger(endKeyGroup)) throw new RangeError(`endKeyGroup must be an integer, got ${endKeyGroup}`);
    if (endKeyGroup < startKeyGroup) return KeyGroupRange.EMPTY;
    return new KeyGroupRange(startKeyGroup, endKeyGroup);
  }

  get numberOfKeyGroups(): number {
    return this.endKeyGroup - this.startKeyGroup + 1;
  }

  get isEmpty(): boolean {
    return this.numberOfKeyGroups === 0;
  }

  contains(keyGroup: number): boolean {
    return keyGroup >= this.startKeyGroup && keyGroup <= this.endKeyGroup;
  }

  intersection(other: KeyGroupRange): KeyGroupRange {
    return KeyGroupRange.of(
      Math.max(this.startKeyGroup, other.startKeyGroup),
      Math.min(this.endKeyGroup, other.endKeyGroup),
    );
  }

  /** The key groups of this range that `other` does not contain (what a subtask gains when its range goes from `other` to this). */
  keyGroupsNotIn(other: KeyGroupRange): Set<number> {
    const keyGroups = new Set<number>();
    for (const keyGroup of this) if (!other.contains(keyGroup)) keyGroups.add(keyGroup);
    return keyGroups;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let kg = this.startKeyGroup; kg <= this.endKeyGroup; kg++) yield kg;
  }

  toJSON(): { start: number; end: number } {
    return { start: this.startKeyGroup, end: this.endKeyGroup };
  }

  toString(): string {
    return this.isEmpty ? 'KeyGroupRange{EMPTY}' : `KeyGroupRange{${this.startKeyGroup}..${this.endKeyGroup}}`;
  }
}

function checkParallelism(parallelism: number, maxParallelism: number): void {
  checkMaxParallelism(maxParallelism);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new RangeError(`parallelism must be an integer in [1, maxParallelism=${maxParallelism}], got ${parallelism}`);
  }
}

export function checkMaxParallelism(maxParallelism: number): void {
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new RangeError(`maxParallelism must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${maxParallelism}`);
  }
}

/** Flink's MathUtils.murmurHash(int): a murmur3 mix of a 32-bit hash code, made non-negative. */
export function murmurHash(code: number): number {
  let h = code | 0;
  h = Math.imul(h, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  h ^= 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  if (h >= 0) return h;
  if (h !== -2147483648) return -h;
  return 0;
}

export function computeKeyGroupForKeyHash(keyHash: number, maxParallelism: number): number {
  if (!(maxParallelism >= 1)) checkMaxParallelism(maxParallelism);
  return murmurHash(keyHash) % maxParallelism;
}

/** The key group of `key`; on the per-record path, so the precondition check is one comparison. */
export function assignToKeyGroup(key: unknown, maxParallelism: number): number {
  if (!(maxParallelism >= 1)) checkMaxParallelism(maxParallelism);
  return murmurHash(keyHashCode(key)) % maxParallelism;
}

export function computeOperatorIndexForKeyGroup(maxParallelism: number, parallelism: number, keyGroup: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

export function assignKeyToParallelOperator(key: unknown, maxParallelism: number, parallelism: number): number {
  return computeOperatorIndexForKeyGroup(maxParallelism, parallelism, assignToKeyGroup(key, maxParallelism));
}

/** The contiguous key groups subtask `operatorIndex` owns at `parallelism`. */
export function keyGroupRangeForSubtask(maxParallelism: number, parallelism: number, operatorIndex: number): KeyGroupRange {
  checkParallelism(parallelism, maxParallelism);
  if (!Number.isInteger(operatorIndex) || operatorIndex < 0 || operatorIndex >= parallelism) {
    throw new RangeError(`operatorIndex must be in [0, ${parallelism - 1}], got ${operatorIndex}`);
  }
  const start = Math.floor((operatorIndex * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((operatorIndex + 1) * maxParallelism - 1) / parallelism);
  return KeyGroupRange.of(start, end);
}

function nextPowerOfTwo(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** Flink's default: min(max(nextPow2(1.5·p), 128), 32768). */
export function defaultMaxParallelism(parallelism: number): number {
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new RangeError(`parallelism must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${parallelism}`);
  }
  const raw = nextPowerOfTwo(parallelism + Math.floor(parallelism / 2));
  return Math.min(Math.max(raw, DEFAULT_LOWER_BOUND_MAX_PARALLELISM), UPPER_BOUND_MAX_PARALLELISM);
}
