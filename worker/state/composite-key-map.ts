// A map keyed by composite (array) state keys. A JS Map compares arrays by identity, and turning
// each array into a canonical string costs a concatenation, a flatten and a fresh hash per record
// (~0.7 µs). Instead the key's parts are hashed here in one pass without allocating (~0.15 µs),
// the hash picks a chain of slots in a plain Map, and the parts are compared to find the slot.
// Slots keep their own copy of the key, so a caller that reuses or mutates its array after a put
// changes nothing. Equality is SameValueZero per part, like Map keys: -0 equals 0, NaN equals NaN,
// 1 differs from "1" and from 1n.

import { MAX_COMPOSITE_KEY_DEPTH } from '../../shared/checkpoint/keyed-state-snapshot.ts';

const float64 = new Float64Array(1);
const float64Words = new Int32Array(float64.buffer);

/** A 32-bit hash of a composite key's content; throws TypeError for parts that cannot be in a key. */
export function compositeKeyHash(key: readonly unknown[]): number {
  return hashArray(key, 0);
}

function hashArray(parts: readonly unknown[], depth: number): number {
  if (depth >= MAX_COMPOSITE_KEY_DEPTH) {
    throw new TypeError(`a composite key may nest at most ${MAX_COMPOSITE_KEY_DEPTH} arrays deep (is it cyclic?)`);
  }
  let hash = (0x2f3c9e1d ^ parts.length) | 0;
  for (let i = 0; i < parts.length; i++) hash = (Math.imul(hash, 0x01000193) ^ hashPart(parts[i], depth)) | 0;
  // murmur3's finalizer, so similar keys spread over the Map's buckets
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

function hashPart(part: unknown, depth: number): number {
  switch (typeof part) {
    case 'string': {
      let hash = 0x51ed27;
      for (let i = 0; i < part.length; i++) hash = (Math.imul(hash, 31) + part.charCodeAt(i)) | 0;
      return hash;
    }
    case 'number':
      if (part === (part | 0)) return part ^ 0x6e756d; // small integers, and -0 like 0
      if (part !== part) return 0x4e614e; // every NaN
      float64[0] = part;
      return float64Words[0]! ^ float64Words[1]!;
    case 'bigint':
      return Number(BigInt.asIntN(32, part)) ^ 0x626967;
    case 'boolean':
      return part ? 1231 : 1237;
    case 'undefined':
      return 0x756e64;
    case 'object':
      if (part === null) return 0x6e756c;
      if (Array.isArray(part)) return hashArray(part, depth + 1) ^ 0x617272;
      break;
  }
  throw new TypeError(
    `a composite key may hold strings, numbers, booleans, bigints, null, undefined and arrays of those, got ${typeof part}`,
  );
}

/** Part-wise SameValueZero equality of two composite keys. */
export function compositeKeysEqual(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x !== x && y !== y && typeof x === 'number' && typeof y === 'number') continue; // NaN
    if (Array.isArray(x) && Array.isArray(y) && compositeKeysEqual(x, y)) continue;
    return false;
  }
  return true;
}

/** A private, normalized copy: nested arrays copied, holes made undefined, -0 made 0 (as LevelDB's encoding does). */
export function copyCompositeKey(key: readonly unknown[]): unknown[] {
  const copy = new Array<unknown>(key.length);
  for (let i = 0; i < key.length; i++) {
    const part = key[i];
    copy[i] = Array.isArray(part) ? copyCompositeKey(part) : part === 0 ? 0 : part;
  }
  return copy;
}

/** One key of a chain; a plain object so that v8.serialize can copy a whole map for a snapshot. */
export interface CompositeSlot<V> {
  readonly key: readonly unknown[];
  value: V;
  next: CompositeSlot<V> | undefined;
}

/** Composite key (with its precomputed hash) → value. */
export class CompositeKeyMap<V> {
  private readonly chains = new Map<number, CompositeSlot<V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: readonly unknown[], hash: number): V | undefined {
    for (let slot = this.chains.get(hash); slot !== undefined; slot = slot.next) {
      if (compositeKeysEqual(slot.key, key)) return slot.value;
    }
    return undefined;
  }

  /** Stores `value` and returns the map's own copy of the key. */
  set(key: readonly unknown[], hash: number, value: V): readonly unknown[] {
    const head = this.chains.get(hash);
    for (let slot = head; slot !== undefined; slot = slot.next) {
      if (compositeKeysEqual(slot.key, key)) {
        slot.value = value;
        return slot.key;
      }
    }
    const slot: CompositeSlot<V> = { key: copyCompositeKey(key), value, next: head };
    this.chains.set(hash, slot);
    this.count++;
    return slot.key;
  }

  delete(key: readonly unknown[], hash: number): boolean {
    let previous: CompositeSlot<V> | undefined;
    for (let slot = this.chains.get(hash); slot !== undefined; previous = slot, slot = slot.next) {
      if (!compositeKeysEqual(slot.key, key)) continue;
      if (previous !== undefined) previous.next = slot.next;
      else if (slot.next !== undefined) this.chains.set(hash, slot.next);
      else this.chains.delete(hash);
      this.count--;
      return true;
    }
    return false;
  }

  /** The chains as they are, for v8.serialize; `forEachSlot` walks them (or a deserialized copy of them). */
  chainsForSnapshot(): ReadonlyMap<number, CompositeSlot<V>> {
    return this.chains;
  }
}

export function forEachCompositeSlot<V>(
  chains: ReadonlyMap<number, CompositeSlot<V>>,
  visit: (key: readonly unknown[], value: V) => void,
): void {
  for (const head of chains.values()) {
    for (let slot: CompositeSlot<V> | undefined = head; slot !== undefined; slot = slot.next) visit(slot.key, slot.value);
  }
}
