// What keyed-count-app must commit, computed from the Nexmark generator, and a comparison of a
// run's committed output (part files, or any records: rows of postgres-count-app) with it that
// counts what was lost and what was doubled.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NexmarkGenerator } from '../../../shared/nexmark/generator.ts';

/** Bids per auction among the first `events` Nexmark events. */
export function expectedBidCounts(events: number): Map<number, number> {
  const generator = new NexmarkGenerator({ maxEvents: events });
  const counts = new Map<number, number>();
  while (generator.hasNext()) {
    const event = generator.next();
    if (event.kind === 'bid') counts.set(event.auction, (counts.get(event.auction) ?? 0) + 1);
  }
  return counts;
}

export interface OutputComparison {
  readonly expectedRecords: number;
  readonly committedRecords: number;
  /** Expected {auction, n} records missing from the committed output. */
  readonly lost: number;
  /** Committed records beyond the first of each {auction, n}, or not expected at all. */
  readonly doubled: number;
}

/** Compares the committed part files (`part-*.jsonl`; in-progress files are hidden) with the expectation. */
export function compareCommittedOutput(directory: string, expected: ReadonlyMap<number, number>): OutputComparison {
  const records: Array<{ auction: number; n: number }> = [];
  for (const name of readdirSync(directory)) {
    if (!/^part-\d+-\d+\.jsonl$/.test(name)) continue;
    for (const line of readFileSync(join(directory, name), 'utf8').split('\n')) {
      if (line !== '') records.push(JSON.parse(line) as { auction: number; n: number });
    }
  }
  return compareCommittedRecords(records, expected);
}

/** Compares committed {auction, n} records, each as often as it was committed, with the expectation. */
export function compareCommittedRecords(records: Iterable<{ readonly auction: number; readonly n: number }>, expected: ReadonlyMap<number, number>): OutputComparison {
  const seen = new Map<string, number>();
  let committedRecords = 0;
  for (const { auction, n } of records) {
    committedRecords++;
    const key = `${auction}/${n}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  let expectedRecords = 0;
  let lost = 0;
  let doubled = 0;
  const expectedKeys = new Set<string>();
  for (const [auction, count] of expected) {
    for (let n = 1; n <= count; n++) {
      expectedRecords++;
      const key = `${auction}/${n}`;
      expectedKeys.add(key);
      const times = seen.get(key) ?? 0;
      if (times === 0) lost++;
      else doubled += times - 1;
    }
  }
  for (const [key, times] of seen) if (!expectedKeys.has(key)) doubled += times;
  return { expectedRecords, committedRecords, lost, doubled };
}
