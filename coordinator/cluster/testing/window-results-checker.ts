// The input of the end-to-end exactly-once test (kafka-window-app.ts), what the job must emit for
// it — computed here from the generator, never from the engine — and the checker that compares
// what a sink made visible with that expectation, per key: lost, duplicated, out-of-order and
// wrong (a result whose count or sums differ: state lost or doubled inside a window).

import type { WindowInput, WindowResult } from './kafka-window-app.ts';

export interface WindowInputPlan {
  readonly records: number;
  readonly keys: number;
  readonly partitions: number;
  /** Event time of record 0. */
  readonly startMs: number;
  /** Event time between consecutive records (over all keys). */
  readonly stepMs: number;
  /** Each record's event time is late by up to this much (deterministic), less than the job's out-of-orderness bound. */
  readonly jitterMs: number;
}

export interface InputRecord {
  readonly partition: number;
  readonly key: string;
  readonly value: WindowInput;
}

/** A fixed integer hash (xorshift-multiply), so the jitter does not depend on any seed. */
function hash32(n: number): number {
  let x = (n + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Record g is key `k<g mod keys>` with that key's sequence number floor(g / keys) and event time
 * startMs + g·stepMs + jitter(g). A key's records all go to partition (key index mod partitions),
 * so within a partition event time never runs back by more than jitterMs: no record is late.
 */
export function generateWindowInput(plan: WindowInputPlan): InputRecord[] {
  const records: InputRecord[] = [];
  for (let g = 0; g < plan.records; g++) {
    const k = g % plan.keys;
    const key = `k${k}`;
    const t = plan.startMs + g * plan.stepMs + (hash32(g) % plan.jitterMs);
    records.push({ partition: k % plan.partitions, key, value: { key, seq: Math.floor(g / plan.keys), t } });
  }
  return records;
}

/** One sentinel per partition, far past the last window, so the watermark releases every window. */
export function endOfInputSentinels(plan: WindowInputPlan, windowMs: number): InputRecord[] {
  const t = plan.startMs + plan.records * plan.stepMs + plan.jitterMs + 100 * windowMs;
  return Array.from({ length: plan.partitions }, (_, partition) => ({ partition, key: 'end', value: { t, end: true as const } }));
}

const resultId = (key: string, windowStart: number) => `${key}/${windowStart}`;

/** The result the job must emit for each (key, window), by `key/windowStart`. */
export function expectedWindowResults(input: readonly InputRecord[], windowMs: number): Map<string, WindowResult> {
  const results = new Map<string, { key: string; windowStart: number; count: number; seqSum: number; maxSeq: number }>();
  for (const { value } of input) {
    if (value.end) continue;
    const windowStart = value.t - (value.t % windowMs);
    const id = resultId(value.key!, windowStart);
    let r = results.get(id);
    if (!r) results.set(id, (r = { key: value.key!, windowStart, count: 0, seqSum: 0, maxSeq: -1 }));
    r.count++;
    r.seqSum += value.seq!;
    r.maxSeq = Math.max(r.maxSeq, value.seq!);
  }
  return results;
}

export interface KeyCounts {
  lost: number;
  duplicated: number;
  outOfOrder: number;
  wrong: number;
}

export interface WindowResultsCheck {
  readonly expected: number;
  readonly visible: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly wrong: number;
  /** Keys whose results came in more than one sequence (then their relative order means nothing). */
  readonly keysInSeveralSequences: number;
  /** Only the keys with a non-zero count. */
  readonly badKeys: Readonly<Record<string, KeyCounts>>;
}

/**
 * Compares visible results with the expectation. `sequences` are the outputs in an order the job
 * guarantees (a Kafka partition by offset; one sink subtask's files in file order, lines in file
 * order). Walking a sequence, a result already seen is duplicated; a new result of a key whose
 * window starts before a window of that key seen earlier in the sequence is out of order; a
 * result not expected, or with other count or sums, is wrong; an expected result never seen is lost.
 */
export function checkWindowResults(sequences: ReadonlyArray<readonly WindowResult[]>, expected: ReadonlyMap<string, WindowResult>): WindowResultsCheck {
  const perKey = new Map<string, KeyCounts>();
  const counts = (key: string) => perKey.get(key) ?? perKey.set(key, { lost: 0, duplicated: 0, outOfOrder: 0, wrong: 0 }).get(key)!;
  const seen = new Set<string>();
  const sequenceOfKey = new Map<string, number>();
  const severalSequences = new Set<string>();
  let visible = 0;
  sequences.forEach((sequence, index) => {
    const latestStart = new Map<string, number>();
    for (const r of sequence) {
      visible++;
      if ((sequenceOfKey.get(r.key) ?? index) !== index) severalSequences.add(r.key);
      sequenceOfKey.set(r.key, index);
      const id = resultId(r.key, r.windowStart);
      if (seen.has(id)) {
        counts(r.key).duplicated++;
        continue;
      }
      seen.add(id);
      const want = expected.get(id);
      if (!want || want.count !== r.count || want.seqSum !== r.seqSum || want.maxSeq !== r.maxSeq) counts(r.key).wrong++;
      if (r.windowStart < (latestStart.get(r.key) ?? Number.NEGATIVE_INFINITY)) counts(r.key).outOfOrder++;
      else latestStart.set(r.key, r.windowStart);
    }
  });
  for (const [id, want] of expected) if (!seen.has(id)) counts(want.key).lost++;
  const badKeys: Record<string, KeyCounts> = {};
  const total: KeyCounts = { lost: 0, duplicated: 0, outOfOrder: 0, wrong: 0 };
  for (const [key, c] of [...perKey].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
    total.lost += c.lost;
    total.duplicated += c.duplicated;
    total.outOfOrder += c.outOfOrder;
    total.wrong += c.wrong;
    if (c.lost + c.duplicated + c.outOfOrder + c.wrong > 0) badKeys[key] = c;
  }
  return { expected: expected.size, visible, ...total, keysInSeveralSequences: severalSequences.size, badKeys };
}

/** Whether every expected result is visible (duplicates or not): the outputs are complete. */
export function allExpectedVisible(sequences: ReadonlyArray<readonly WindowResult[]>, expected: ReadonlyMap<string, WindowResult>): boolean {
  const seen = new Set<string>();
  for (const sequence of sequences) for (const r of sequence) seen.add(resultId(r.key, r.windowStart));
  for (const id of expected.keys()) if (!seen.has(id)) return false;
  return true;
}
