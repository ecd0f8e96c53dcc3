// Tests for the Nexmark generator: java.util.Random fidelity, the reference's event structure,
// determinism, resuming and splitting, and config validation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError } from '../errors.ts';
import {
  NexmarkGenerator,
  REFERENCE_BASE_TIME_MS,
  resolveNexmarkConfig,
  splitNexmarkRange,
  type NexmarkGeneratorConfig,
  type NexmarkGeneratorRange,
  priceCents,
} from './generator.ts';
import { JavaRandom } from './java-random.ts';
import type { Auction, Bid, NexmarkEvent, Person } from './model.ts';

function take(generator: NexmarkGenerator, count: number): NexmarkEvent[] {
  const events: NexmarkEvent[] = [];
  while (events.length < count && generator.hasNext()) events.push(generator.next());
  return events;
}

function generateAll(config: NexmarkGeneratorConfig, range: NexmarkGeneratorRange): NexmarkEvent[] {
  const generator = new NexmarkGenerator(config, range);
  const events: NexmarkEvent[] = [];
  const batch: NexmarkEvent[] = [];
  for (let filled = generator.fill(batch, 97); filled > 0; filled = generator.fill(batch, 97)) {
    for (let i = 0; i < filled; i++) events.push(batch[i]!);
  }
  return events;
}

/**
 * BidGenerator.nextBid transcribed from the reference (Beam, plus nexmark-flink's channel), on
 * JavaRandom's one-call-per-draw API, for the default 1 : 3 : 46 proportions.
 */
function referenceBid(generator: NexmarkGenerator, eventId: number, eventNumber: number): Bid {
  const config = generator.config;
  // `^` works on 32 bits: fine for the small ids used with a seed here.
  const random = new JavaRandom(config.seed === 0 ? eventId : eventId ^ config.seed);
  const nextLong = (n: number) => {
    if (n < 2_147_483_647) return random.nextIntBounded(n);
    const remainder = random.nextLong() % BigInt(n);
    return Number(remainder < 0n ? -remainder : remainder);
  };
  const epoch = Math.floor(eventId / 50);
  const lastBase0AuctionId = epoch * 3 + 2;
  const lastBase0PersonId = epoch;
  let auction: number;
  if (random.nextIntBounded(config.hotAuctionRatio) > 0) {
    auction = Math.trunc(lastBase0AuctionId / 100) * 100;
  } else {
    const minAuction = Math.max(lastBase0AuctionId - config.numInFlightAuctions, 0);
    auction = minAuction + nextLong(lastBase0AuctionId - minAuction + 1 + 10);
  }
  let bidder: number;
  if (random.nextIntBounded(config.hotBiddersRatio) > 0) {
    bidder = Math.trunc(lastBase0PersonId / 100) * 100 + 1;
  } else {
    const numPeople = lastBase0PersonId + 1;
    const activePeople = Math.min(numPeople, config.numActivePeople);
    bidder = numPeople - activePeople + nextLong(activePeople + 10);
  }
  const price = Math.round(Math.pow(10, random.nextDouble() * 6) * 100);
  const hotChannel = random.nextIntBounded(2) > 0;
  const channelIndex = random.nextIntBounded(hotChannel ? 4 : 10_000);
  // Channel names and URLs come from the generator's prebuilt catalogue (checked against Java
  // elsewhere): take them from any bid on the same channel.
  const channelName = hotChannel ? ['Google', 'Facebook', 'Baidu', 'Apple'][channelIndex]! : `channel-${channelIndex}`;
  const sameChannel = anyBidOnChannel(channelName);
  return {
    kind: 'bid',
    auction: auction + 1000,
    bidder: bidder + 1000,
    price,
    channel: sameChannel.channel,
    url: sameChannel.url,
    dateTime: config.baseTimeMs + Math.floor(Math.trunc(eventNumber * config.interEventDelayUs) / 1000),
    extra: '',
  };
}

const bidsByChannel = new Map<string, Bid>();
function anyBidOnChannel(channel: string): Bid {
  if (bidsByChannel.size === 0) {
    const scan = new NexmarkGenerator({}, { eventCount: 2_000_000 });
    const batch: NexmarkEvent[] = [];
    for (let filled = scan.fill(batch, 4096); filled > 0; filled = scan.fill(batch, 4096)) {
      for (let i = 0; i < filled; i++) {
        const event = batch[i]!;
        if (event.kind === 'bid' && !bidsByChannel.has(event.channel)) bidsByChannel.set(event.channel, event);
      }
    }
  }
  const bid = bidsByChannel.get(channel);
  assert.ok(bid !== undefined, `no bid seen on ${channel}`);
  return bid;
}

describe('JavaRandom', () => {
  it('matches well-known java.util.Random outputs', () => {
    assert.equal(new JavaRandom(42).nextInt(), -1170105035);
    const zero = new JavaRandom(0);
    assert.deepEqual([zero.nextInt(), zero.nextInt(), zero.nextInt()], [-1155484576, -723955400, 1033096058]);
    const digits = new JavaRandom(0);
    assert.deepEqual(
      Array.from({ length: 10 }, () => digits.nextIntBounded(10)),
      [0, 8, 9, 7, 5, 3, 1, 1, 9, 4],
    );
    assert.equal(new JavaRandom(0).nextDouble(), 0.730967787376657);
    assert.equal(new JavaRandom(42).nextDouble(), 0.7275636800328681);
    assert.equal(new JavaRandom(0).nextLong(), -4962768465676381896n);
    assert.equal(new JavaRandom(42).nextLong(), -5025562857975149833n);
  });

  it('uses only the low 48 bits of negative and large seeds, as Java does', () => {
    // Values printed by java.util.Random on OpenJDK 17.
    assert.equal(new JavaRandom(-42).nextIntBounded(1000), 265);
    assert.equal(new JavaRandom(2 ** 48).nextInt(), -1155484576);
    const minusOne = new JavaRandom(-1);
    assert.deepEqual([minusOne.nextInt(), minusOne.nextInt()], [1155099827, 1887904451]);
    assert.equal(new JavaRandom(2 ** 47).nextInt(), 991999072);
  });

  it('matches Java for bounds that are powers of two, odd, and near 2^31', () => {
    // new Random(42): five nextInt(), then nextInt(b) for each bound; printed by OpenJDK 17.
    const random = new JavaRandom(42);
    for (let i = 0; i < 5; i++) random.nextInt();
    const bounds = [1, 2, 3, 7, 10, 13, 26, 100, 1000, 10000, 2 ** 30, 2147483647, 1073741825];
    assert.deepEqual(
      bounds.map((bound) => random.nextIntBounded(bound)),
      [0, 0, 2, 6, 3, 0, 0, 76, 292, 4476, 741339016, 995688456, 326327863],
    );
    assert.equal(random.nextDouble(), 0.43649097442328655);
  });

  it('draws letter codes exactly as the equivalent nextIntBounded calls', () => {
    for (let seed = 0; seed < 200; seed++) {
      const fast = new JavaRandom(seed);
      const slow = new JavaRandom(seed);
      fast.nextInt(); // start mid-batch
      slow.nextInt();
      const codes = new Uint8Array(64);
      const length = 1 + (seed % 60);
      fast.nextLetterCodes(codes, length, 0x5f);
      for (let i = 0; i < length; i++) {
        const expected = slow.nextIntBounded(13) === 0 ? 0x5f : 0x61 + slow.nextIntBounded(26);
        assert.equal(codes[i], expected);
      }
      assert.equal(fast.nextInt(), slow.nextInt());
    }
  });
});

describe('priceCents', () => {
  it('equals Math.round(Math.pow(10, exponent) * 100), also next to half cents', () => {
    const random = new JavaRandom(7);
    for (let i = 0; i < 200_000; i++) {
      const exponent = random.nextDouble() * 6;
      assert.equal(priceCents(exponent), Math.round(Math.pow(10, exponent) * 100));
    }
    for (let cents = 100; cents < 1e8; cents = Math.ceil(cents * 1.01)) {
      const nearHalfCent = Math.log10((cents + 0.5) / 100);
      for (const nudge of [-4e-16, -2e-16, 0, 2e-16, 4e-16]) {
        const exponent = nearHalfCent + nudge;
        if (exponent >= 0 && exponent < 6) {
          assert.equal(priceCents(exponent), Math.round(Math.pow(10, exponent) * 100));
        }
      }
    }
  });
});

describe('NexmarkGenerator events', () => {
  it('produces the reference values for the first events', () => {
    const [person, auction, , , bid] = take(new NexmarkGenerator(), 5) as [Person, Auction, Auction, Auction, Bid];
    // Event 0 is seeded with new Random(0), whose first outputs are the well-known nextInt()
    // values -1155484576 and -723955400: next(31) = 1569741360 and 1785505948, so
    // nextInt(11) = 1569741360 % 11 = 0 → "Peter" and nextInt(9) = 1785505948 % 9 = 7 → "Jones".
    assert.equal(person.name, 'Peter Jones');
    // The rest as printed by a Java port of the reference generator using java.util.Random.
    assert.deepEqual(person, {
      kind: 'person',
      id: 1000,
      name: 'Peter Jones',
      emailAddress: 'nhd@xcat.com',
      creditCard: '7241 7320 9143 4888',
      city: 'Portland',
      state: 'WY',
      dateTime: REFERENCE_BASE_TIME_MS,
      extra: '',
    });
    assert.deepEqual(auction, {
      kind: 'auction',
      id: 1000,
      itemName: 'wkx mgee',
      description: 'eszpqxtdxrvwmmywkmogoahf',
      initialBid: 28873,
      reserve: 29448,
      dateTime: REFERENCE_BASE_TIME_MS,
      expires: REFERENCE_BASE_TIME_MS + 11,
      seller: 1000,
      category: 13,
      extra: '',
    });
    assert.deepEqual(bid, {
      kind: 'bid',
      auction: 1000,
      bidder: 1001,
      price: 32530001,
      channel: 'Google',
      url: 'https://www.nexmark.com/cozb/_r_/r_cg/item.htm?query=1',
      dateTime: REFERENCE_BASE_TIME_MS,
      extra: '',
    });
  });

  it('matches a Java port where Java rejects draws and takes nextLong branches', () => {
    // Huge choices make nextInt(bound) reject ~30-45% of draws, and auction lengths exceed
    // 2^31 ms so that LongGenerator.nextLong uses Random.nextLong. Values printed by a Java port
    // of the reference generator using java.util.Random.
    const config = { seed: 3, firstEventId: 100_000_000_000, numActivePeople: 1_500_000_000, numInFlightAuctions: 1_200_000_000 };
    const [person, auction, , , bid, secondBid] = take(new NexmarkGenerator(config), 6) as [
      Person, Auction, Auction, Auction, Bid, Bid,
    ];
    assert.deepEqual([person.id, person.name, person.emailAddress, person.creditCard], [
      2000001000, 'Julie Noris', 'pbcnp@vlw.com', '4473 7003 4023 7437',
    ]);
    assert.deepEqual(
      [auction.id, auction.itemName, auction.initialBid, auction.reserve, auction.expires, auction.seller, auction.category],
      [6000001000, 'jzxnhwsxpmcocwkq k', 41458, 481350, 1437250328402, 2000001000, 13],
    );
    assert.equal(auction.description, 'cjwryjkykcxlc duzs dfqasa dr  q devb jb llfcfbwxbguw ofcgl  idr j');
    assert.deepEqual([bid.auction, bid.bidder, bid.price, bid.channel], [5409865245, 2000001001, 104, 'channel-7070']);
    assert.equal(bid.url, 'https://www.nexmark.com/ojw/mkm/hbwd/item.htm?query=1&channel_id=2044198912');
    assert.deepEqual([secondBid.auction, secondBid.bidder, secondBid.price, secondBid.channel], [
      5907657968, 1429083659, 4765, 'channel-2456',
    ]);
  });

  it('draws bids exactly as BidGenerator does, one java.util.Random call at a time', () => {
    const configs: NexmarkGeneratorConfig[] = [
      {},
      { seed: 77, hotAuctionRatio: 3, hotBiddersRatio: 5, numActivePeople: 37, numInFlightAuctions: 13 },
      { firstEventId: 100_000_000_000, numActivePeople: 1_500_000_000, numInFlightAuctions: 1_200_000_000 },
    ];
    for (const config of configs) {
      const generator = new NexmarkGenerator(config);
      const resolved = generator.config;
      for (let eventNumber = 0; eventNumber < 30_000; eventNumber += 1 + (eventNumber % 7)) {
        const eventId = resolved.firstEventId + eventNumber;
        if (eventId % 50 < 4) continue;
        assert.deepEqual(generator.eventAt(eventNumber), referenceBid(generator, eventId, eventNumber), `event ${eventNumber}`);
      }
    }
  });

  it('pads extra to the reference sizes only when asked, leaving the other fields alike', () => {
    const plain = take(new NexmarkGenerator(), 5_000);
    const padded = take(new NexmarkGenerator({ padExtraToAverageSize: true }), 5_000);
    let bidExtraChars = 0;
    let bids = 0;
    for (let i = 0; i < plain.length; i++) {
      assert.deepEqual({ ...padded[i]!, extra: '' }, plain[i]);
      const event = padded[i]!;
      if (event.kind === 'bid') {
        bids++;
        bidExtraChars += event.extra.length;
      }
    }
    // A bid counts 32 bytes of numbers; extra brings it to 100 on average.
    assert.ok(Math.abs(bidExtraChars / bids - 68) < 2, `average bid extra ${bidExtraChars / bids}`);
    const firstPerson = padded[0] as Person;
    assert.equal(firstPerson.extra.slice(0, 10), 'WN_HS_bnpk');
  });

  it('emits people, auctions and bids exactly 1 : 3 : 46 in every block of 50', () => {
    const events = take(new NexmarkGenerator(), 50 * 40);
    for (let block = 0; block < 40; block++) {
      const kinds = events.slice(block * 50, block * 50 + 50).map((event) => event.kind);
      assert.deepEqual(kinds, ['person', 'auction', 'auction', 'auction', ...Array<string>(46).fill('bid')]);
    }
    // Any 50 consecutive events, too, and with other proportions.
    const shifted = take(new NexmarkGenerator({ firstEventId: 17 }), 50 * 10);
    const count = (kind: string) => shifted.filter((event) => event.kind === kind).length;
    assert.deepEqual([count('person'), count('auction'), count('bid')], [10, 30, 460]);
    const custom = take(new NexmarkGenerator({ personProportion: 2, auctionProportion: 5, bidProportion: 3 }), 10);
    assert.deepEqual(custom.map((event) => event.kind[0]).join(''), 'ppaaaaabbb');
  });

  it('derives ids from the event id and references people and auctions the reference way', () => {
    const events = take(new NexmarkGenerator(), 300_000);
    let lastPersonId = 999;
    let lastAuctionId = 999;
    let bids = 0;
    let bidsOnExistingAuctions = 0;
    for (const event of events) {
      if (event.kind === 'person') {
        assert.equal(event.id, lastPersonId + 1);
        lastPersonId = event.id;
      } else if (event.kind === 'auction') {
        assert.equal(event.id, lastAuctionId + 1);
        lastAuctionId = event.id;
        // Sellers: the last 1000 people plus at most 10 not created yet (PERSON_ID_LEAD).
        assert.ok(event.seller <= lastPersonId + 10 && event.seller >= Math.max(1000, lastPersonId - 999));
        assert.ok(event.category >= 10 && event.category < 15);
        assert.ok(event.reserve > event.initialBid && event.initialBid >= 100);
        assert.ok(event.expires > event.dateTime);
      } else {
        bids++;
        // Auctions: the last 100 in flight, hot ones, plus at most 10 ahead (AUCTION_ID_LEAD).
        assert.ok(event.auction <= lastAuctionId + 10, `bid on ${event.auction} after auction ${lastAuctionId}`);
        assert.ok(event.auction >= Math.max(1000, lastAuctionId - 100));
        assert.ok(event.bidder <= lastPersonId + 10 && event.bidder >= Math.max(1000, lastPersonId - 999));
        assert.ok(event.price >= 100 && event.price <= 100_000_000);
        if (event.auction <= lastAuctionId) bidsOnExistingAuctions++;
      }
    }
    assert.ok(bidsOnExistingAuctions / bids > 0.9, `${bidsOnExistingAuctions} of ${bids} bids on existing auctions`);
  });

  it('makes hot auctions and hot bidders hot', () => {
    // Until auction 1100 exists (event ~1666) the hot auction is 1000, and the hot bidder 1001
    // until person 1100 (event 5000).
    const bids = take(new NexmarkGenerator(), 1_600).filter((event): event is Bid => event.kind === 'bid');
    const topShare = (key: (bid: Bid) => number) => {
      const counts = new Map<number, number>();
      for (const bid of bids) counts.set(key(bid), (counts.get(key(bid)) ?? 0) + 1);
      const [topKey, topCount] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
      return { topKey, share: topCount / bids.length };
    };
    const auctions = topShare((bid) => bid.auction);
    assert.equal(auctions.topKey, 1000);
    assert.ok(auctions.share > 0.45, `hot auction share ${auctions.share}`); // 1 - 1/hotAuctionRatio
    const bidders = topShare((bid) => bid.bidder);
    assert.equal(bidders.topKey, 1001);
    assert.ok(bidders.share > 0.7, `hot bidder share ${bidders.share}`); // 1 - 1/hotBiddersRatio
    const lukewarm = take(new NexmarkGenerator({ hotAuctionRatio: 1 }), 1_600).filter(
      (event): event is Bid => event.kind === 'bid' && event.auction === 1000,
    );
    assert.ok(lukewarm.length < 0.1 * bids.length);
  });

  it('times events from the event number and the rate, not the wall clock', () => {
    const events = take(new NexmarkGenerator({ baseTimeMs: 1_000_000, firstEventRatePerSecond: 3_000 }), 10_000);
    const interEventDelayUs = 1e6 / 3_000;
    events.forEach((event, eventNumber) => {
      // As Java computes (long)(eventNumber * interEventDelayUs) / 1000L: event 195 is at
      // 64999.99999999999 µs, so 64 ms, not 65.
      assert.equal(event.dateTime, 1_000_000 + Math.floor(Math.trunc(eventNumber * interEventDelayUs) / 1000));
    });
    assert.equal(events[195]!.dateTime, 1_000_064);
    const fast = take(new NexmarkGenerator({ firstEventRatePerSecond: 10_000_000 }), 100_001);
    assert.equal(fast[100_000]!.dateTime, REFERENCE_BASE_TIME_MS + 10);
  });
});

describe('NexmarkGenerator determinism', () => {
  it('gives identical streams for the same seed and different ones for another seed', () => {
    const first = generateAll({ seed: 12345 }, { eventCount: 5_000 });
    const second = generateAll({ seed: 12345 }, { eventCount: 5_000 });
    assert.deepEqual(first, second);
    const other = generateAll({ seed: 54321 }, { eventCount: 5_000 });
    assert.deepEqual(
      other.map((event) => event.kind),
      first.map((event) => event.kind),
    );
    const prices = (events: NexmarkEvent[]) => events.map((event) => (event.kind === 'bid' ? event.price : 0));
    assert.notDeepEqual(prices(other), prices(first));
    // next() and fill() agree.
    assert.deepEqual(take(new NexmarkGenerator({ seed: 12345 }), 5_000), first);
  });

  it('continues exactly from a checkpointed position', () => {
    const config = { seed: 9, maxEvents: 20_000 };
    const uninterrupted = generateAll(config, {});
    assert.equal(uninterrupted.length, 20_000);
    const first = new NexmarkGenerator(config);
    const resumedEvents = take(first, 7_777);
    assert.equal(first.position, 7_777);
    const checkpoint = JSON.parse(JSON.stringify(first.checkpoint())) as NexmarkGeneratorRange;
    assert.deepEqual(checkpoint, { firstEventNumber: 7_777, stride: 1, eventCount: 12_223 });
    resumedEvents.push(...generateAll(config, checkpoint));
    assert.deepEqual(resumedEvents, uninterrupted);
    // Restarting by position alone works too.
    assert.deepEqual(generateAll(config, { firstEventNumber: 7_777 }), uninterrupted.slice(7_777));
    // Any single event can be generated on its own.
    assert.deepEqual(new NexmarkGenerator(config).eventAt(12_345), uninterrupted[12_345]);
  });

  it('splits into disjoint ranges whose union is the single generator', () => {
    const eventCount = 10_007;
    const single = generateAll({}, { eventCount });
    for (const splitCount of [1, 3, 4]) {
      const ranges = splitNexmarkRange({ eventCount }, splitCount);
      const seen = new Set<number>();
      const splitEvents = ranges.map((range) => {
        const generator = new NexmarkGenerator({}, range);
        const events: NexmarkEvent[] = [];
        while (generator.hasNext()) {
          assert.ok(!seen.has(generator.position), `event ${generator.position} in two splits`);
          seen.add(generator.position);
          events.push(generator.next());
        }
        return events;
      });
      assert.equal(seen.size, eventCount);
      const merged = single.map((_, eventNumber) => splitEvents[eventNumber % splitCount]![Math.floor(eventNumber / splitCount)]);
      assert.deepEqual(merged, single);
    }
    // Splits of a split, and unbounded splits capped by maxEvents.
    const [, odd] = splitNexmarkRange({ eventCount: 1_000 }, 2);
    const quarters = splitNexmarkRange(odd!, 2).map((range) => generateAll({}, range));
    assert.deepEqual(quarters.map((events) => events.length), [250, 250]);
    assert.deepEqual(quarters[1]![0], single[3]);
    const unbounded = splitNexmarkRange({}, 3).map((range) => generateAll({ maxEvents: 100 }, range));
    assert.deepEqual(unbounded.map((events) => events.length), [34, 33, 33]);
    assert.deepEqual(unbounded[2]![32], single[98]);
  });

  it('stops at the end of its range', () => {
    const generator = new NexmarkGenerator({}, { firstEventNumber: 10, eventCount: 3 });
    const out: NexmarkEvent[] = [];
    assert.equal(generator.fill(out, 2), 2);
    assert.equal(generator.remaining, 1);
    assert.equal(generator.fill(out, 100), 1);
    assert.equal(generator.fill(out, 100), 0);
    assert.equal(generator.hasNext(), false);
    assert.throws(() => generator.next(), RangeError);
    assert.deepEqual(generator.checkpoint(), { firstEventNumber: 13, stride: 1, eventCount: 0 });
    const capped = new NexmarkGenerator({ maxEvents: 5 }, { firstEventNumber: 3 });
    assert.equal(capped.remaining, 2);
    assert.equal(new NexmarkGenerator().remaining, Infinity);
  });
});

describe('resolveNexmarkConfig', () => {
  it('applies the reference defaults', () => {
    const config = resolveNexmarkConfig();
    assert.equal(config.firstEventRatePerSecond, 10_000);
    assert.equal(config.interEventDelayUs, 100);
    assert.equal(config.baseTimeMs, Date.UTC(2015, 6, 15));
    assert.deepEqual(
      [config.personProportion, config.auctionProportion, config.bidProportion, config.totalProportion],
      [1, 3, 46, 50],
    );
    assert.deepEqual([config.hotAuctionRatio, config.hotBiddersRatio, config.hotSellersRatio], [2, 4, 4]);
    assert.deepEqual([config.numActivePeople, config.numInFlightAuctions], [1000, 100]);
    assert.deepEqual([config.avgPersonByteSize, config.avgAuctionByteSize, config.avgBidByteSize], [200, 500, 100]);
    assert.equal(config.maxEvents, Infinity);
    assert.equal(config.padExtraToAverageSize, false);
    assert.equal(resolveNexmarkConfig(config), config);
  });

  it('rejects invalid values naming the field', () => {
    const rejects = (config: unknown, field: string, message: RegExp) => {
      assert.throws(
        () => resolveNexmarkConfig(config as NexmarkGeneratorConfig),
        (error: unknown) => error instanceof ConfigurationError && error.field === field && message.test(error.message),
      );
    };
    rejects({ firstEventRatePerSecond: 0 }, 'firstEventRatePerSecond', /firstEventRatePerSecond: must be a positive number/);
    rejects({ firstEventRatePerSecond: -5 }, 'firstEventRatePerSecond', /positive number/);
    rejects({ firstEventRatePerSecond: Number.NaN }, 'firstEventRatePerSecond', /positive number/);
    rejects({ firstEventRatePerSecond: '10' }, 'firstEventRatePerSecond', /positive number/);
    rejects({ hotAuctionRatio: 0 }, 'hotAuctionRatio', /positive integer, got 0/);
    rejects({ hotBiddersRatio: 1.5 }, 'hotBiddersRatio', /positive integer/);
    rejects({ numActivePeople: 0 }, 'numActivePeople', /positive integer/);
    rejects({ numInFlightAuctions: -1 }, 'numInFlightAuctions', /non-negative integer/);
    rejects({ auctionProportion: 0 }, 'auctionProportion', /positive integer/);
    rejects({ seed: 2 ** 48 }, 'seed', /0 <= seed < 2\^48/);
    rejects({ seed: -1 }, 'seed', /0 <= seed < 2\^48/);
    rejects({ maxEvents: -1 }, 'maxEvents', /non-negative integer/);
    rejects({ baseTimeMs: 1.5 }, 'baseTimeMs', /non-negative integer/);
    rejects({ padExtraToAverageSize: 'yes' }, 'padExtraToAverageSize', /boolean/);
    rejects({ firstEventRate: 1000 }, 'firstEventRate', /not a Nexmark generator option/);
    assert.throws(() => new NexmarkGenerator({}, { stride: 0 }), /stride: must be a positive integer/);
    assert.throws(() => new NexmarkGenerator({}, { firstEventNumber: -1 }), /firstEventNumber/);
    assert.throws(() => splitNexmarkRange({}, 0), /splitCount/);
  });
});
