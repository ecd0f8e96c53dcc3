// The Nexmark queries on small hand-made inputs, against results worked out by hand from each
// query's definition (see the comment above each query in queries.ts). Each input is replayed
// with its `dateTime` as event time and a watermark after every record, at parallelism 1 and 3;
// results are compared as multisets.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../shared/api/index.ts';
import { CollectSink } from '../../worker/connectors/collect-sink.ts';
import type { Auction, Bid, NexmarkEvent, Person } from '../../shared/nexmark/model.ts';
import { runEmbedded } from '../../worker/testing/embedded-harness.ts';
import { buildQuery, QUERIES, type QueryName } from './queries.ts';

/** Out-of-orderness every input below stays within. */
const OUT_OF_ORDERNESS_MS = 1_000;

function person(id: number, name: string, city: string, state: string, dateTime: number): Person {
  return { kind: 'person', id, name, emailAddress: `${id}@example.com`, creditCard: '1234 5678 9012 3456', city, state, dateTime, extra: '' };
}

function auction(id: number, seller: number, category: number, dateTime: number, expires: number, reserve = 0): Auction {
  return { kind: 'auction', id, itemName: `item ${id}`, description: '', initialBid: 1, reserve, dateTime, expires, seller, category, extra: '' };
}

function bid(auctionId: number, bidder: number, price: number, dateTime: number): Bid {
  return { kind: 'bid', auction: auctionId, bidder, price, channel: 'Google', url: 'https://www.nexmark.com/a/b/c/item.htm?query=1', dateTime, extra: '' };
}

/** JSON with object keys sorted, so that field order does not matter. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function multiset(values: readonly unknown[]): string[] {
  return values.map(canonical).sort();
}

async function run(query: QueryName, events: readonly NexmarkEvent[], parallelism: number, sourceBatchSize: number | undefined): Promise<unknown[]> {
  // The expected results assume no record is late: check the input keeps to the bound.
  let maxSeen = Number.NEGATIVE_INFINITY;
  for (const e of events) {
    assert.ok(e.dateTime > maxSeen - OUT_OF_ORDERNESS_MS - 1, `test input: ${e.kind} at ${e.dateTime} would be late`);
    maxSeen = Math.max(maxSeen, e.dateTime);
  }
  const env = new StreamExecutionEnvironment().setParallelism(parallelism).setAutoWatermarkInterval(0);
  const sink = new CollectSink<unknown>();
  const source = env.fromCollection(
    events,
    WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(OUT_OF_ORDERNESS_MS).withTimestampAssigner((e) => e.dateTime),
  );
  buildQuery(query, source, sink);
  await runEmbedded(env, sourceBatchSize === undefined ? {} : { sourceBatchSize });
  return sink.values;
}

/**
 * Runs at parallelism 1 and 3, each with one record per source poll (a two-input operator then
 * sees its inputs in the order of the input list, so e.g. an auction before its seller really
 * comes first) and with the default batches (each input's records of a batch arrive together).
 */
function check(query: QueryName, events: readonly NexmarkEvent[], expected: readonly unknown[]): void {
  assert.ok(expected.length > 0);
  for (const parallelism of [1, 3]) {
    for (const sourceBatchSize of [1, undefined]) {
      const batches = sourceBatchSize === 1 ? 'one record per poll' : 'default batches';
      it(`gives the hand-computed results at parallelism ${parallelism}, ${batches}`, async () => {
        assert.deepEqual(multiset(await run(query, events, parallelism, sourceBatchSize)), multiset(expected));
      });
    }
  }
}

it('every query is tested here', () => {
  assert.deepEqual([...QUERIES].sort(), ['q0', 'q1', 'q11', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8']);
});

// q0–q2 share one input: two persons, an auction and five bids, one of them out of order.
const mixed: NexmarkEvent[] = [
  person(1000, 'Peter Jones', 'Boise', 'ID', 1_000),
  auction(2000, 1000, 10, 1_500, 30_000, 500),
  bid(2000, 1000, 700, 2_000),
  bid(1107, 1001, 1234, 2_600),
  bid(2000, 1001, 999, 2_500),
  person(1001, 'Paul Smith', 'Kent', 'WA', 3_000),
  bid(1230, 1000, 5, 4_000),
  bid(1000, 1002, 100_000, 5_000),
];

describe('q0: pass-through', () => {
  // Every bid, unchanged; persons and auctions are dropped.
  check('q0', mixed, [
    bid(2000, 1000, 700, 2_000),
    bid(1107, 1001, 1234, 2_600),
    bid(2000, 1001, 999, 2_500),
    bid(1230, 1000, 5, 4_000),
    bid(1000, 1002, 100_000, 5_000),
  ]);
});

describe('q1: currency conversion', () => {
  // price × 0.908 (as price × 908 / 1000), not rounded.
  check('q1', mixed, [
    { auction: 2000, bidder: 1000, price: 635.6, dateTime: 2_000 },
    { auction: 1107, bidder: 1001, price: 1120.472, dateTime: 2_600 },
    { auction: 2000, bidder: 1001, price: 907.092, dateTime: 2_500 },
    { auction: 1230, bidder: 1000, price: 4.54, dateTime: 4_000 },
    { auction: 1000, bidder: 1002, price: 90_800, dateTime: 5_000 },
  ]);
});

describe('q2: selection', () => {
  // auction % 123 == 0: 1107 = 9 × 123 and 1230 = 10 × 123; not 2000 (rest 32) nor 1000 (rest 16).
  check('q2', mixed, [
    { auction: 1107, price: 1234 },
    { auction: 1230, price: 5 },
  ]);
});

describe('q5: hot items', () => {
  // 10 s windows every 2 s: a bid at t is in the windows ending at the multiples of 2 s in
  // (t, t + 10 s]. Auction 1: 20.5 s, 22.5 s; auction 2: 21 s, 23 s, 24.1 s; auction 3: 31 s.
  const events: NexmarkEvent[] = [
    bid(2, 501, 10, 21_000),
    bid(1, 500, 10, 20_500),
    person(600, 'Kate White', 'Bend', 'OR', 22_000),
    bid(1, 502, 10, 22_500),
    bid(2, 503, 10, 23_000),
    auction(7, 600, 11, 23_500, 90_000),
    bid(2, 504, 10, 24_100),
    bid(3, 505, 10, 31_000),
  ];
  check('q5', events, [
    { windowEnd: 22_000, auctions: [1, 2], bids: 1 }, // [12 s, 22 s): 20.5 | 21
    { windowEnd: 24_000, auctions: [1, 2], bids: 2 }, // [14 s, 24 s): 20.5, 22.5 | 21, 23
    { windowEnd: 26_000, auctions: [2], bids: 3 }, // [16 s, 26 s): auction 1 has 2, auction 2 has 3
    { windowEnd: 28_000, auctions: [2], bids: 3 },
    { windowEnd: 30_000, auctions: [2], bids: 3 },
    { windowEnd: 32_000, auctions: [2], bids: 2 }, // [22 s, 32 s): 22.5 | 23, 24.1 | 31
    { windowEnd: 34_000, auctions: [2, 3], bids: 1 }, // [24 s, 34 s): 24.1 | 31
    { windowEnd: 36_000, auctions: [3], bids: 1 },
    { windowEnd: 38_000, auctions: [3], bids: 1 },
    { windowEnd: 40_000, auctions: [3], bids: 1 }, // [30 s, 40 s): 31
  ]);
});

describe('q3: local item suggestion', () => {
  const events: NexmarkEvent[] = [
    auction(2005, 1001, 10, 900, 60_000), // waits for seller 1001, who turns out to live in WA
    person(1000, 'Ann Smith', 'Portland', 'OR', 1_000),
    auction(2000, 1000, 10, 1_200, 60_000), // Ann: yes
    auction(2001, 1000, 11, 1_300, 60_000), // category 11: no
    person(1001, 'Bob White', 'Seattle', 'WA', 1_500),
    auction(2002, 1001, 10, 1_600, 60_000), // WA: no
    person(1003, 'Dan Jones', 'Boise', 'ID', 2_000),
    auction(2006, 1003, 12, 2_500, 60_000), // category 12: no
    auction(2003, 1002, 10, 3_000, 60_000), // waits for Cat
    bid(2000, 1003, 100, 3_500),
    auction(2004, 1002, 10, 6_000, 60_000), // waits for Cat, who registers a second earlier
    person(1002, 'Cat Abrams', 'Los Angeles', 'CA', 5_000), // answers 2003 and 2004
    auction(2007, 1000, 10, 7_000, 60_000), // Ann: yes
    auction(2008, 1004, 10, 8_000, 60_000), // seller 1004 never registers: no
    person(1005, 'Eve Spencer', 'Phoenix', 'AZ', 8_500),
    auction(2009, 1000, 10, 900_000, 960_000), // Ann again, 15 minutes later: no window, still yes
  ];
  check('q3', events, [
    { name: 'Ann Smith', city: 'Portland', state: 'OR', auction: 2000 },
    { name: 'Ann Smith', city: 'Portland', state: 'OR', auction: 2007 },
    { name: 'Ann Smith', city: 'Portland', state: 'OR', auction: 2009 },
    { name: 'Cat Abrams', city: 'Los Angeles', state: 'CA', auction: 2003 },
    { name: 'Cat Abrams', city: 'Los Angeles', state: 'CA', auction: 2004 },
  ]);
});

describe('q4: average price for a category', () => {
  // Winners: auction 1 (cat 10, [1 s, 11 s], reserve 100): 150, 90 (< reserve), 300 at 11 s
  // exactly (counts), 500 at 11.001 s (after the close) → 300. Auction 2 (cat 10, [4 s, 20 s]):
  // 250 at 3.5 s (before it opens: does not count), 200 at 4 s (arrives before the auction,
  // counts), 120, 10000 at 25.5 s (after the close) → 200. Auction 3 (cat 11, reserve 1000):
  // 999 only → no winner.
  // Auction 4 (cat 11, [6 s, 16 s]): 50, 70, 70, 1000 at 16.5 s → 70. Auction 6 (cat 11,
  // [12 s, 16 s]): 30 → 30. Auction 5 (cat 10, [21 s, 30 s]): 401. Bid on auction 99: no auction.
  // In order of close (ties by auction id): cat 10: 300 (11 s), 200 (20 s), 401 (30 s);
  // cat 11: 70 (16 s, auction 4), 30 (16 s, auction 6).
  const events: NexmarkEvent[] = [
    auction(1, 100, 10, 1_000, 11_000, 100),
    bid(1, 201, 150, 2_000),
    bid(1, 202, 90, 3_000),
    bid(2, 203, 250, 3_500),
    bid(2, 204, 200, 4_000),
    auction(3, 102, 11, 5_000, 9_000, 1000), // the watermark passes 3.5 s: bid 203 stops waiting
    auction(2, 101, 10, 4_000, 20_000, 50), // bid 204 was still waiting for it
    bid(3, 205, 999, 6_000),
    auction(4, 103, 11, 6_000, 16_000, 10),
    bid(4, 207, 70, 8_000),
    bid(4, 206, 50, 7_000),
    bid(4, 208, 70, 9_000),
    bid(99, 209, 1000, 10_000),
    bid(1, 210, 300, 11_000),
    bid(1, 211, 500, 11_001),
    auction(6, 105, 11, 12_000, 16_000, 0),
    bid(6, 218, 30, 13_000),
    bid(2, 212, 120, 15_000),
    bid(4, 214, 1000, 16_500),
    person(104, 'Luke Walton', 'Redmond', 'WA', 20_500),
    auction(5, 104, 10, 21_000, 30_000, 10),
    bid(5, 215, 401, 25_000),
    bid(2, 216, 10_000, 25_500),
  ];
  check('q4', events, [
    { category: 10, average: 300, auctions: 1 },
    { category: 10, average: 250, auctions: 2 },
    { category: 10, average: 901 / 3, auctions: 3 },
    { category: 11, average: 70, auctions: 1 },
    { category: 11, average: 50, auctions: 2 },
  ]);
});

describe('q7: highest bid', () => {
  const events: NexmarkEvent[] = [
    bid(1, 10, 100, 1_000),
    person(20, 'Saul Bartels', 'Cheyenne', 'WY', 1_500),
    bid(2, 11, 300, 2_000),
    bid(3, 12, 200, 5_000),
    auction(30, 20, 10, 6_000, 50_000),
    bid(4, 13, 300, 9_999), // ties bid 2 in [0 s, 10 s)
    bid(5, 14, 300, 10_000), // same price, but in [10 s, 20 s), where 400 is higher
    bid(6, 15, 250, 9_500), // out of order, [0 s, 10 s)
    bid(7, 16, 50, 12_000),
    bid(8, 17, 400, 15_000),
    bid(9, 18, 20, 25_000), // alone in [20 s, 30 s)
  ];
  check('q7', events, [
    { auction: 2, bidder: 11, price: 300, dateTime: 2_000, windowEnd: 10_000 },
    { auction: 4, bidder: 13, price: 300, dateTime: 9_999, windowEnd: 10_000 },
    { auction: 8, bidder: 17, price: 400, dateTime: 15_000, windowEnd: 20_000 },
    { auction: 9, bidder: 18, price: 20, dateTime: 25_000, windowEnd: 30_000 },
  ]);
});

describe('q8: monitor new users', () => {
  const events: NexmarkEvent[] = [
    person(1, 'Alice Noris', 'Kent', 'WA', 1_000),
    auction(101, 1, 10, 3_000, 60_000), // Alice, [0 s, 10 s)
    auction(102, 1, 11, 8_000, 60_000), // Alice again, same window: still one result
    person(2, 'Bob Shultz', 'Bend', 'OR', 9_000),
    auction(103, 2, 10, 10_500, 60_000), // Bob, but in the next window: no
    auction(104, 3, 12, 11_000, 60_000), // Carol, [10 s, 20 s), before she registers: yes
    person(3, 'Carol Smith', 'Boise', 'ID', 12_000),
    person(4, 'Dave Jones', 'Phoenix', 'AZ', 15_000), // no auction
    auction(105, 5, 10, 16_000, 60_000), // no person 5
    person(6, 'Frank White', 'Seattle', 'WA', 20_000), // at the window's start
    auction(106, 1, 10, 21_000, 60_000), // Alice, not in her registration window: no
    bid(101, 4, 100, 22_000),
    auction(107, 6, 13, 29_999, 60_000), // Frank, at the window's last millisecond
    auction(108, 6, 14, 29_000, 60_000), // Frank again, out of order
  ];
  check('q8', events, [
    { id: 1, name: 'Alice Noris', windowStart: 0 },
    { id: 3, name: 'Carol Smith', windowStart: 10_000 },
    { id: 6, name: 'Frank White', windowStart: 20_000 },
  ]);
});

describe('q11: user sessions', () => {
  const events: NexmarkEvent[] = [
    bid(1, 1, 10, 1_000),
    bid(1, 2, 10, 2_000),
    person(1, 'Vicky Spencer', 'Kent', 'WA', 3_000),
    bid(2, 1, 10, 5_000),
    bid(2, 2, 10, 11_999), // 9.999 s after 2 s: same session
    bid(3, 1, 10, 15_000), // exactly 10 s after 5 s: the windows touch, so the sessions merge
    auction(9, 1, 10, 18_000, 60_000),
    bid(3, 2, 10, 22_000), // 10.001 s after 11.999 s: a new session
    bid(4, 3, 10, 30_000),
    bid(4, 3, 10, 29_000), // out of order
    bid(5, 1, 10, 40_000),
  ];
  check('q11', events, [
    { bidder: 1, bidCount: 3, start: 1_000, end: 25_000 },
    { bidder: 1, bidCount: 1, start: 40_000, end: 50_000 },
    { bidder: 2, bidCount: 2, start: 2_000, end: 21_999 },
    { bidder: 2, bidCount: 1, start: 22_000, end: 32_000 },
    { bidder: 3, bidCount: 2, start: 29_000, end: 40_000 },
  ]);
});
