// Checksums that let the harness refuse to compare Sluice with Flink unless both computed the
// same thing. Both sides write each event and each query result as one canonical text line —
// fields in a fixed order, joined by "|" — and hash the lines the same way. The Java side
// (benchmarks/flink-baseline) implements exactly these rules; change both or neither.
//
// Numbers: an integral value as a plain integer ("1500", "-3"); any other value rounded to six
// decimals from its exact binary value, as JavaScript's toFixed(6) does ("1.500000"). Java's
// String.format("%.6f") rounds the shortest decimal form instead and differs when the seventh
// decimal is a trailing 5; the Java side uses new BigDecimal(x).setScale(6, HALF_UP) on the
// magnitude. Lists: elements joined by ",". Strings as they are.
//
// Events checksum: SHA-256 over the canonical lines of the first N events in event-number order,
// each line followed by "\n"; hex.
// Output checksum: order-independent, since parallel subtasks interleave their results: the sum
// modulo 2^64 of the first 8 bytes (big-endian) of each line's SHA-256, as 16 hex digits, plus
// the number of lines.

import { createHash } from 'node:crypto';
import type { NexmarkEvent } from '../../shared/nexmark/model.ts';
import type { QueryName } from './queries.ts';

export function canonicalNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(6);
}

export function canonicalEvent(e: NexmarkEvent): string {
  const n = canonicalNumber;
  switch (e.kind) {
    case 'person':
      return ['P', n(e.id), e.name, e.emailAddress, e.creditCard, e.city, e.state, n(e.dateTime), e.extra].join('|');
    case 'auction':
      return ['A', n(e.id), e.itemName, e.description, n(e.initialBid), n(e.reserve), n(e.dateTime), n(e.expires), n(e.seller), n(e.category), e.extra].join('|');
    case 'bid':
      return ['B', n(e.auction), n(e.bidder), n(e.price), e.channel, e.url, n(e.dateTime), e.extra].join('|');
  }
}

type Fields = Record<string, unknown>;

/** The field order of each query's result; a result is written as these fields joined by "|". */
export const OUTPUT_FIELDS: Readonly<Record<QueryName, readonly string[]>> = {
  q0: ['auction', 'bidder', 'price', 'channel', 'url', 'dateTime', 'extra'],
  q1: ['auction', 'bidder', 'price', 'dateTime'],
  q2: ['auction', 'price'],
  q3: ['name', 'city', 'state', 'auction'],
  q4: ['category', 'average', 'auctions'],
  q5: ['windowEnd', 'auctions', 'bids'],
  q7: ['auction', 'bidder', 'price', 'dateTime', 'windowEnd'],
  q8: ['id', 'name', 'windowStart'],
  q11: ['bidder', 'bidCount', 'start', 'end'],
};

function canonicalField(value: unknown): string {
  if (typeof value === 'number') return canonicalNumber(value);
  if (Array.isArray(value)) return value.map(canonicalField).join(',');
  return String(value);
}

export function canonicalOutput(query: QueryName, result: unknown): string {
  return OUTPUT_FIELDS[query].map((field) => canonicalField((result as Fields)[field])).join('|');
}

export function eventsChecksum(events: Iterable<NexmarkEvent>): string {
  const hash = createHash('sha256');
  for (const e of events) hash.update(canonicalEvent(e) + '\n');
  return hash.digest('hex');
}

const MOD_64 = (1n << 64n) - 1n;

/** Accumulates the order-independent checksum of a query's results. */
export class OutputChecksum {
  private sum = 0n;
  count = 0;

  add(line: string): void {
    const digest = createHash('sha256').update(line).digest();
    this.sum = (this.sum + digest.readBigUInt64BE(0)) & MOD_64;
    this.count++;
  }

  get hex(): string {
    return this.sum.toString(16).padStart(16, '0');
  }

  /** The checksums of disjoint sets of lines (parallel sink writers' `hex` and `count`) combined into one. */
  static combine(parts: ReadonlyArray<{ readonly hex: string; readonly count: number }>): { hex: string; count: number } {
    let sum = 0n;
    let count = 0;
    for (const part of parts) {
      sum = (sum + BigInt(`0x${part.hex}`)) & MOD_64;
      count += part.count;
    }
    return { hex: sum.toString(16).padStart(16, '0'), count };
  }
}
