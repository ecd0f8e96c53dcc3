// A deterministic Nexmark event generator (people, auctions, bids), for the Nexmark benchmark
// queries. It follows the reference generator, Apache Beam's
// org.apache.beam.sdk.nexmark.sources.generator (Generator, GeneratorConfig and the
// model/*Generator classes) and nexmark-flink's port of it (for the configurable proportions and
// the bid's channel/url), so that a Java baseline can produce exactly the same events.
//
// What is followed exactly:
// - Event number n has event id `firstEventId + n`; its random fields come from a
//   java.util.Random seeded with that event id (Beam: `new Random(eventId)`), XOR `seed`
//   (0 by default, which is Beam's stream), drawn in the reference's order. So any event can be
//   generated on its own: restarting at a position, or splitting into ranges, changes nothing.
// - The kind is `eventId % (person + auction + bid proportions)`, 1 : 3 : 46 by default.
// - Person and auction ids are derived from the event id (lastBase0PersonId/lastBase0AuctionId),
//   starting at 1000. Sellers and bidders are drawn from the last `numActivePeople` people plus
//   10 not-yet-created ones; bid auctions from the last `numInFlightAuctions` auctions plus 10
//   ahead. Hot sellers/bidders/auctions are the first (bidders: second) of each batch of 100,
//   chosen with probability 1 - 1/ratio (hotSellersRatio 4, hotBiddersRatio 4,
//   hotAuctionRatio 2).
// - Prices are round(10^(6·u) · 100) cents; strings, credit cards, cities, states and names as
//   in the reference; auction expiry as nextAuctionLengthMs.
// - Event time of event number n: baseTimeMs + floor(trunc(n · interEventDelayUs) / 1000) with
//   interEventDelayUs = 1e6 / firstEventRatePerSecond as a double (nexmark-flink's
//   GeneratorConfig.timestampForEvent; Beam rounds the delay to whole microseconds first, which
//   gives the same times whenever 1e6 / rate is an integer, e.g. the default 10,000/s).
//
// Where this deviates, and why:
// - `extra` is '' unless `padExtraToAverageSize` is set: padding strings cost more than the rest
//   of a bid. It is drawn last, so every other field is unaffected; with padding on it is the
//   reference's nextExtra (for bids after the channel draws, as in nexmark-flink).
// - Bid channel/url follow nexmark-flink's draws (after the price: nextInt(2) > 0 picks one of
//   four hot channels with nextInt(4), else channel nextInt(10000)), but nexmark-flink builds
//   each channel's URL from an unseeded Random, so URLs are not reproducible there. Here the URL
//   of channel c is built the same way from `new Random(c)`, hot channel i's from
//   `new Random(10000 + i)`. nexmark-flink also adds FIRST_PERSON_ID to the bidder twice (a bug
//   that makes bidders reference no person); it is added once, as in Beam.
// - Splits: the reference splits a generator into contiguous event-id ranges that each run
//   their own timeline (event numbers from 0, delay × number of generators). Here split i of n
//   generates event numbers i, i+n, i+2n, …: each split then also runs at 1/n of the rate from
//   the base time, but the union of the splits is exactly the single generator's stream (same
//   ids, same timestamps), and every split's watermark advances together.
// - Not supported: rate shapes other than a constant rate (nextEventRate, rateShape, sine),
//   outOfOrderGroupSize > 1 and nexmark-flink's extended bid mode.
// - The default base time is Beam's fixed BASE_TIME (2015-07-15T00:00:00Z), not the wall clock.
// - Math.pow: V8's pow is an fdlibm port, so Java's StrictMath.pow matches it bit for bit; Java's
//   Math.pow may differ in the last bit, which could only change a price where 10^(6u)·100 lands
//   within one ulp of a half-cent.

import { ConfigurationError } from '../../../shared/errors.ts';
import { JavaRandom } from './java-random.ts';
import type { Auction, Bid, NexmarkEvent, Person } from './model.ts';

/** Ids start at these values so that queries find matches even on small streams (reference). */
export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
const NUM_CATEGORIES = 5;
/** How many not-yet-created people/auctions a seller, bidder or bid may reference. */
const PERSON_ID_LEAD = 10;
const AUCTION_ID_LEAD = 10;
/** Hot sellers, bidders and auctions are one per batch of this many people/auctions. */
const HOT_SELLER_BATCH_SIZE = 100;
const HOT_BIDDER_BATCH_SIZE = 100;
const HOT_AUCTION_BATCH_SIZE = 100;
/** P(bid comes from a hot channel) = 1 - 1/HOT_CHANNELS_RATIO. */
const HOT_CHANNELS_RATIO = 2;
const CHANNELS_NUMBER = 10_000;
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'] as const;
const MIN_STRING_LENGTH = 3;
/** Bytes the reference counts for the numeric fields when sizing `extra`. */
const BID_FIXED_FIELDS_BYTES = 8 + 8 + 8 + 8;
const AUCTION_FIXED_FIELDS_BYTES = 8 + 8 + 8 + 8 + 8 + 8;
const PERSON_FIXED_FIELDS_BYTES = 8;

const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const US_CITIES = [
  'Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent',
  'Cheyenne',
];
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];

const SPACE = 0x20;
const UNDERSCORE = 0x5f;
const LOWERCASE_A = 0x61;
const TWO_POW_24 = 16_777_216;
const TWO_POW_48 = 281_474_976_710_656;
const LOW_24_BITS = 0xff_ffff;
const INT32_MAX = 2_147_483_647;

/** Beam's NexmarkUtils.BASE_TIME, 2015-07-15T00:00:00Z: event times do not depend on the wall clock. */
export const REFERENCE_BASE_TIME_MS = 1_436_918_400_000;

export interface NexmarkGeneratorConfig {
  /** XORed into every event's Random seed; 0 gives the reference stream. 0 ≤ seed < 2^48. */
  seed?: number;
  /** Event time of event number 0, epoch ms. Default REFERENCE_BASE_TIME_MS. */
  baseTimeMs?: number;
  /** Event-time rate of the whole stream (all splits together). Default 10,000/s (reference). */
  firstEventRatePerSecond?: number;
  /** Event id of event number 0; the id seeds the event. Default 0 (Beam). */
  firstEventId?: number;
  /** Event numbers stop before this; 0 or absent means unbounded (reference numEvents). */
  maxEvents?: number;
  /** Proportions of people, auctions and bids; default 1 : 3 : 46. */
  personProportion?: number;
  auctionProportion?: number;
  bidProportion?: number;
  /** A bid is for the hot auction with P = 1 - 1/hotAuctionRatio. Default 2. */
  hotAuctionRatio?: number;
  /** A bid is by a hot bidder with P = 1 - 1/hotBiddersRatio. Default 4. */
  hotBiddersRatio?: number;
  /** An auction is by a hot seller with P = 1 - 1/hotSellersRatio. Default 4. */
  hotSellersRatio?: number;
  /** People considered active for placing auctions or bids. Default 1000. */
  numActivePeople?: number;
  /** Auctions a non-hot bid chooses from (average in flight). Default 100. */
  numInFlightAuctions?: number;
  /** Average idealized event sizes the `extra` padding aims for. Defaults 200, 500, 100. */
  avgPersonByteSize?: number;
  avgAuctionByteSize?: number;
  avgBidByteSize?: number;
  /** Pad `extra` to the average sizes as the reference does; default false (extra is ''). */
  padExtraToAverageSize?: boolean;
}

export interface ResolvedNexmarkConfig {
  readonly seed: number;
  readonly baseTimeMs: number;
  readonly firstEventRatePerSecond: number;
  readonly firstEventId: number;
  /** Infinity when unbounded. */
  readonly maxEvents: number;
  readonly personProportion: number;
  readonly auctionProportion: number;
  readonly bidProportion: number;
  readonly totalProportion: number;
  readonly hotAuctionRatio: number;
  readonly hotBiddersRatio: number;
  readonly hotSellersRatio: number;
  readonly numActivePeople: number;
  readonly numInFlightAuctions: number;
  readonly avgPersonByteSize: number;
  readonly avgAuctionByteSize: number;
  readonly avgBidByteSize: number;
  readonly padExtraToAverageSize: boolean;
  /** 1e6 / firstEventRatePerSecond, a double as in nexmark-flink. */
  readonly interEventDelayUs: number;
}

const CONFIG_FIELDS: ReadonlySet<string> = new Set<keyof NexmarkGeneratorConfig>([
  'seed', 'baseTimeMs', 'firstEventRatePerSecond', 'firstEventId', 'maxEvents', 'personProportion',
  'auctionProportion', 'bidProportion', 'hotAuctionRatio', 'hotBiddersRatio', 'hotSellersRatio',
  'numActivePeople', 'numInFlightAuctions', 'avgPersonByteSize', 'avgAuctionByteSize', 'avgBidByteSize',
  'padExtraToAverageSize',
]);

const resolvedConfigs = new WeakSet<object>();

function integerIn(field: string, value: unknown, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(field, `must be ${what}, got ${String(value)}`);
  }
  return value;
}

/** Applies the defaults and validates; errors name the field. Resolving twice is a no-op. */
export function resolveNexmarkConfig(config: NexmarkGeneratorConfig | ResolvedNexmarkConfig = {}): ResolvedNexmarkConfig {
  if (resolvedConfigs.has(config)) return config as ResolvedNexmarkConfig;
  if (typeof config !== 'object' || config === null) {
    throw new ConfigurationError('nexmark', `config must be an object, got ${String(config)}`);
  }
  for (const field of Object.keys(config)) {
    if (!CONFIG_FIELDS.has(field)) throw new ConfigurationError(field, 'is not a Nexmark generator option');
  }
  const c = config as NexmarkGeneratorConfig;
  const positiveInt = 'a positive integer';
  const nonNegativeInt = 'a non-negative integer';
  const maxSafe = Number.MAX_SAFE_INTEGER;

  const rate = c.firstEventRatePerSecond ?? 10_000;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
    throw new ConfigurationError('firstEventRatePerSecond', `must be a positive number, got ${String(rate)}`);
  }
  const padExtraToAverageSize = c.padExtraToAverageSize ?? false;
  if (typeof padExtraToAverageSize !== 'boolean') {
    throw new ConfigurationError('padExtraToAverageSize', `must be a boolean, got ${String(padExtraToAverageSize)}`);
  }
  const maxEventsOrZero = integerIn('maxEvents', c.maxEvents, 0, 0, maxSafe, nonNegativeInt);
  const personProportion = integerIn('personProportion', c.personProportion, 1, 1, INT32_MAX, positiveInt);
  const auctionProportion = integerIn('auctionProportion', c.auctionProportion, 3, 1, INT32_MAX, positiveInt);
  const bidProportion = integerIn('bidProportion', c.bidProportion, 46, 0, INT32_MAX, nonNegativeInt);

  const resolved: ResolvedNexmarkConfig = {
    seed: integerIn('seed', c.seed, 0, 0, TWO_POW_48 - 1, 'an integer with 0 <= seed < 2^48'),
    baseTimeMs: integerIn('baseTimeMs', c.baseTimeMs, REFERENCE_BASE_TIME_MS, 0, maxSafe, nonNegativeInt),
    firstEventRatePerSecond: rate,
    firstEventId: integerIn('firstEventId', c.firstEventId, 0, 0, maxSafe, nonNegativeInt),
    maxEvents: maxEventsOrZero === 0 ? Infinity : maxEventsOrZero,
    personProportion,
    auctionProportion,
    bidProportion,
    totalProportion: personProportion + auctionProportion + bidProportion,
    hotAuctionRatio: integerIn('hotAuctionRatio', c.hotAuctionRatio, 2, 1, INT32_MAX, positiveInt),
    hotBiddersRatio: integerIn('hotBiddersRatio', c.hotBiddersRatio, 4, 1, INT32_MAX, positiveInt),
    hotSellersRatio: integerIn('hotSellersRatio', c.hotSellersRatio, 4, 1, INT32_MAX, positiveInt),
    // Bounded so that `active + lead` stays a Java int, as the reference's int fields do.
    numActivePeople: integerIn('numActivePeople', c.numActivePeople, 1000, 1, INT32_MAX - PERSON_ID_LEAD, positiveInt),
    numInFlightAuctions: integerIn(
      'numInFlightAuctions', c.numInFlightAuctions, 100, 0, INT32_MAX - AUCTION_ID_LEAD - 1, nonNegativeInt,
    ),
    avgPersonByteSize: integerIn('avgPersonByteSize', c.avgPersonByteSize, 200, 0, INT32_MAX, nonNegativeInt),
    avgAuctionByteSize: integerIn('avgAuctionByteSize', c.avgAuctionByteSize, 500, 0, INT32_MAX, nonNegativeInt),
    avgBidByteSize: integerIn('avgBidByteSize', c.avgBidByteSize, 100, 0, INT32_MAX, nonNegativeInt),
    padExtraToAverageSize,
    interEventDelayUs: 1_000_000 / rate,
  };
  if (resolved.totalProportion > INT32_MAX) {
    throw new ConfigurationError('bidProportion', 'person + auction + bid proportions must fit a 32-bit int');
  }
  Object.freeze(resolved);
  resolvedConfigs.add(resolved);
  return resolved;
}

/** Which event numbers a generator produces; JSON-serializable, so it doubles as a checkpoint. */
export interface NexmarkGeneratorRange {
  /** First event number to generate. Default 0. */
  firstEventNumber?: number;
  /** How many events to generate; absent means until the config's maxEvents (or forever). */
  eventCount?: number;
  /** Step between generated event numbers; split i of n has firstEventNumber i, stride n. Default 1. */
  stride?: number;
}

/**
 * Divides `range` into `splitCount` disjoint interleaved ranges whose union is `range`: split i
 * takes every splitCount-th event starting at the range's i-th event.
 */
export function splitNexmarkRange(range: NexmarkGeneratorRange, splitCount: number): NexmarkGeneratorRange[] {
  if (!Number.isSafeInteger(splitCount) || splitCount < 1) {
    throw new ConfigurationError('splitCount', `must be a positive integer, got ${String(splitCount)}`);
  }
  const { firstEventNumber, eventCount, stride } = validateRange(range);
  const splits: NexmarkGeneratorRange[] = [];
  for (let i = 0; i < splitCount; i++) {
    const split: NexmarkGeneratorRange = { firstEventNumber: firstEventNumber + i * stride, stride: stride * splitCount };
    if (eventCount !== undefined) split.eventCount = Math.max(0, Math.ceil((eventCount - i) / splitCount));
    splits.push(split);
  }
  return splits;
}

function validateRange(range: NexmarkGeneratorRange): { firstEventNumber: number; eventCount?: number; stride: number } {
  const firstEventNumber = integerIn(
    'firstEventNumber', range.firstEventNumber, 0, 0, Number.MAX_SAFE_INTEGER, 'a non-negative integer',
  );
  const stride = integerIn('stride', range.stride, 1, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  if (range.eventCount === undefined) return { firstEventNumber, stride };
  const eventCount = integerIn(
    'eventCount', range.eventCount, 0, 0, Number.MAX_SAFE_INTEGER, 'a non-negative integer',
  );
  return { firstEventNumber, eventCount, stride };
}

/**
 * Draws the reference's strings from a JavaRandom. Characters go to a reused buffer so that a
 * string costs one allocation.
 */
class StringDraws {
  private charCodes = new Uint16Array(256);

  constructor(private readonly random: JavaRandom) {}

  /** StringsGenerator.nextString: 3 ≤ length < maxLength, letters and `special`, trimmed. */
  nextString(maxLength: number, specialCharCode = SPACE): string {
    const random = this.random;
    const length = MIN_STRING_LENGTH + random.nextIntBounded(maxLength - MIN_STRING_LENGTH);
    const codes = this.buffer(length);
    for (let i = 0; i < length; i++) {
      codes[i] = random.nextIntBounded(13) === 0 ? specialCharCode : LOWERCASE_A + random.nextIntBounded(26);
    }
    // Java's String.trim drops chars <= ' ' at both ends.
    let start = 0;
    let end = length;
    while (start < end && codes[start]! <= SPACE) start++;
    while (end > start && codes[end - 1]! <= SPACE) end--;
    return codesToString(codes, start, end);
  }

  /**
   * StringsGenerator.nextExactString. A negative nextInt() gives `rnd % 26 < 0`, i.e. characters
   * below 'a'; the reference does that too.
   */
  nextExactString(length: number): string {
    const random = this.random;
    const codes = this.buffer(length);
    let rnd = 0;
    let charsLeftInRnd = 0;
    for (let i = 0; i < length; i++) {
      if (charsLeftInRnd === 0) {
        rnd = random.nextInt();
        charsLeftInRnd = 6; // log_26(2^31)
      }
      codes[i] = LOWERCASE_A + (rnd % 26);
      rnd = (rnd / 26) | 0;
      charsLeftInRnd--;
    }
    return codesToString(codes, 0, length);
  }

  /** StringsGenerator.nextExtra: a string making `currentSize` average `desiredAverageSize`. */
  nextExtra(currentSize: number, desiredAverageSize: number): string {
    if (currentSize > desiredAverageSize) return '';
    const remainingSize = desiredAverageSize - currentSize;
    const delta = Math.round(remainingSize * 0.2);
    const minSize = remainingSize - delta;
    const size = minSize + (delta === 0 ? 0 : this.random.nextIntBounded(2 * delta));
    return this.nextExactString(size);
  }

  private buffer(length: number): Uint16Array {
    if (this.charCodes.length < length) this.charCodes = new Uint16Array(Math.max(length, this.charCodes.length * 2));
    return this.charCodes;
  }
}

const MAX_CHAR_CODES_PER_CALL = 8192;

function codesToString(codes: Uint16Array, start: number, end: number): string {
  if (end - start <= MAX_CHAR_CODES_PER_CALL) {
    return String.fromCharCode.apply(null, codes.subarray(start, end) as unknown as number[]);
  }
  let result = '';
  for (let from = start; from < end; from += MAX_CHAR_CODES_PER_CALL) {
    result += codesToString(codes, from, Math.min(end, from + MAX_CHAR_CODES_PER_CALL));
  }
  return result;
}

/** Java's Integer.reverse. */
function reverseInt32Bits(value: number): number {
  let x = value | 0;
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return ((x >>> 16) | (x << 16)) | 0;
}

interface ChannelCatalogue {
  readonly hotNames: readonly string[];
  readonly hotUrls: readonly string[];
  readonly names: readonly string[];
  readonly urls: readonly string[];
}

let channelCatalogue: ChannelCatalogue | undefined;

/** nexmark-flink BidGenerator.getBaseUrl, drawn from `random`. */
function baseUrl(strings: StringDraws): string {
  const first = strings.nextString(5, UNDERSCORE);
  const second = strings.nextString(5, UNDERSCORE);
  const third = strings.nextString(5, UNDERSCORE);
  return `https://www.nexmark.com/${first}/${second}/${third}/item.htm?query=1`;
}

/** Every channel's name and URL, built once so that a bid only picks strings. */
function channels(): ChannelCatalogue {
  if (channelCatalogue !== undefined) return channelCatalogue;
  const random = new JavaRandom();
  const strings = new StringDraws(random);
  const names: string[] = [];
  const urls: string[] = [];
  for (let channel = 0; channel < CHANNELS_NUMBER; channel++) {
    random.setSeed(channel);
    let url = baseUrl(strings);
    if (random.nextIntBounded(10) > 0) {
      const reversed = reverseInt32Bits(channel);
      // Java's Math.abs(Integer.MIN_VALUE) stays negative.
      url += `&channel_id=${reversed === -2_147_483_648 ? reversed : Math.abs(reversed)}`;
    }
    names.push(`channel-${channel}`);
    urls.push(url);
  }
  const hotUrls = HOT_CHANNELS.map((_, hotIndex) => {
    random.setSeed(CHANNELS_NUMBER + hotIndex);
    return baseUrl(strings);
  });
  channelCatalogue = { hotNames: HOT_CHANNELS, hotUrls, names, urls };
  return channelCatalogue;
}

// PriceGenerator's Math.round(Math.pow(10, exponent) * 100) is exact but Math.pow is slow (about
// half of a bid's cost). A table of 10^(i/1024) times a short series for the remainder is
// within 2e-15 relative of it; whenever that could round differently (the value lies within
// 1e-12 relative of a half cent, about one price in 10^5) the exact expression is used.
const POW10_STEPS_PER_DECADE = 1024;
const POW10_TABLE = Float64Array.from({ length: 6 * POW10_STEPS_PER_DECADE + 1 }, (_, i) =>
  Math.pow(10, i / POW10_STEPS_PER_DECADE),
);
const PRICE_TIE_MARGIN_RELATIVE = 1e-12;

/** Math.round(Math.pow(10, exponent) * 100) for 0 ≤ exponent < 6, bit for bit. */
export function priceCents(exponent: number): number {
  const step = (exponent * POW10_STEPS_PER_DECADE) | 0;
  // Exact: exponent and step / 1024 share their leading bits.
  const x = (exponent - step / POW10_STEPS_PER_DECADE) * Math.LN10;
  const pow10OfRemainder = 1 + x * (1 + x * (1 / 2 + x * (1 / 6 + x * (1 / 24 + x * (1 / 120)))));
  const centsPlusHalf = POW10_TABLE[step]! * pow10OfRemainder * 100 + 0.5;
  const rounded = Math.floor(centsPlusHalf);
  const fraction = centsPlusHalf - rounded;
  const margin = centsPlusHalf * PRICE_TIE_MARGIN_RELATIVE;
  // Math.round is several times slower than floor in V8, and a branch on the fraction would be a
  // coin flip for the branch predictor; this one is almost never taken.
  if (fraction < margin || fraction > 1 - margin) return Math.round(Math.pow(10, exponent) * 100);
  return rounded;
}

function fourDigits(value: number): string {
  if (value >= 1000) return `${value}`;
  if (value >= 100) return `0${value}`;
  if (value >= 10) return `00${value}`;
  return `000${value}`;
}

/**
 * Generates the events of one range of event numbers. Every event is a pure function of the
 * config and its event number, so `new NexmarkGenerator(config, generator.checkpoint())`
 * continues exactly where `generator` stopped.
 */
export class NexmarkGenerator {
  readonly config: ResolvedNexmarkConfig;
  readonly stride: number;
  private nextEventNumber: number;
  /** Events left in the range (Infinity when unbounded); maxEvents limits further. */
  private eventsLeft: number;

  private readonly random = new JavaRandom();
  private readonly strings = new StringDraws(this.random);
  private readonly channels = channels();
  // Config copied into fields: the hot path reads them per event.
  private readonly seedHigh24: number;
  private readonly seedLow24: number;
  private readonly firstEventId: number;
  private readonly baseTimeMs: number;
  private readonly interEventDelayUs: number;
  private readonly maxEvents: number;
  private readonly personProportion: number;
  private readonly auctionProportion: number;
  private readonly totalProportion: number;
  private readonly hotAuctionRatio: number;
  private readonly hotBiddersRatio: number;
  private readonly hotSellersRatio: number;
  private readonly numActivePeople: number;
  private readonly numInFlightAuctions: number;
  private readonly padExtra: boolean;
  /** Events until numInFlightAuctions more auctions have been generated (nextAuctionLengthMs). */
  private readonly eventsForInFlightAuctions: number;

  constructor(config: NexmarkGeneratorConfig | ResolvedNexmarkConfig = {}, range: NexmarkGeneratorRange = {}) {
    const resolved = resolveNexmarkConfig(config);
    this.config = resolved;
    const { firstEventNumber, eventCount, stride } = validateRange(range);
    this.nextEventNumber = firstEventNumber;
    this.stride = stride;
    this.eventsLeft = eventCount ?? Infinity;

    this.seedHigh24 = Math.floor(resolved.seed / TWO_POW_24);
    this.seedLow24 = resolved.seed - this.seedHigh24 * TWO_POW_24;
    this.firstEventId = resolved.firstEventId;
    this.baseTimeMs = resolved.baseTimeMs;
    this.interEventDelayUs = resolved.interEventDelayUs;
    this.maxEvents = resolved.maxEvents;
    this.personProportion = resolved.personProportion;
    this.auctionProportion = resolved.auctionProportion;
    this.totalProportion = resolved.totalProportion;
    this.hotAuctionRatio = resolved.hotAuctionRatio;
    this.hotBiddersRatio = resolved.hotBiddersRatio;
    this.hotSellersRatio = resolved.hotSellersRatio;
    this.numActivePeople = resolved.numActivePeople;
    this.numInFlightAuctions = resolved.numInFlightAuctions;
    this.padExtra = resolved.padExtraToAverageSize;
    this.eventsForInFlightAuctions = Math.trunc(
      (resolved.numInFlightAuctions * resolved.totalProportion) / resolved.auctionProportion,
    );
  }

  /** The event number the next event will have; checkpoint it (or `checkpoint()`) to resume. */
  get position(): number {
    return this.nextEventNumber;
  }

  /** Events still to come (Infinity when unbounded). */
  get remaining(): number {
    if (this.eventsLeft === 0 || this.nextEventNumber >= this.maxEvents) return 0;
    if (this.maxEvents === Infinity) return this.eventsLeft;
    return Math.min(this.eventsLeft, Math.ceil((this.maxEvents - this.nextEventNumber) / this.stride));
  }

  /** A range that continues exactly after the last event returned. */
  checkpoint(): NexmarkGeneratorRange {
    const remaining = this.remaining;
    const range: NexmarkGeneratorRange = { firstEventNumber: this.nextEventNumber, stride: this.stride };
    if (remaining !== Infinity) range.eventCount = remaining;
    return range;
  }

  hasNext(): boolean {
    return this.eventsLeft > 0 && this.nextEventNumber < this.maxEvents;
  }

  next(): NexmarkEvent {
    if (!this.hasNext()) throw new RangeError('NexmarkGenerator: no more events in this range');
    const event = this.eventAt(this.nextEventNumber);
    this.nextEventNumber += this.stride;
    this.eventsLeft--;
    return event;
  }

  /** Writes up to `max` next events to out[0..n) and returns n (0 when the range is done). */
  fill(out: NexmarkEvent[], max: number): number {
    const count = Math.min(max, this.remaining);
    let eventNumber = this.nextEventNumber;
    const stride = this.stride;
    for (let i = 0; i < count; i++) {
      out[i] = this.eventAt(eventNumber);
      eventNumber += stride;
    }
    this.nextEventNumber = eventNumber;
    this.eventsLeft -= count;
    return count;
  }

  /** Event time of event number `eventNumber` (GeneratorConfig.timestampForEvent). */
  timestampForEvent(eventNumber: number): number {
    const offsetUs = Math.trunc(eventNumber * this.interEventDelayUs);
    // Java's long division. A double `%` would be exact but is a slow library call; the quotient
    // can only round up (for offsets near 2^53), which the check undoes.
    let offsetMs = Math.floor(offsetUs / 1000);
    if (offsetMs * 1000 > offsetUs) offsetMs--;
    return this.baseTimeMs + offsetMs;
  }

  /** The event with this event number, whichever range it belongs to; does not move `position`. */
  eventAt(eventNumber: number): NexmarkEvent {
    const eventId = this.firstEventId + eventNumber;
    const idHigh = Math.floor(eventId / TWO_POW_24);
    // Beam's `new Random(eventId)`, with the seed XORed in.
    this.random.setSeedHalves((idHigh & LOW_24_BITS) ^ this.seedHigh24, (eventId - idHigh * TWO_POW_24) ^ this.seedLow24);
    const epoch = Math.floor(eventId / this.totalProportion);
    const offset = eventId - epoch * this.totalProportion;
    const timestampMs = this.timestampForEvent(eventNumber);
    if (offset < this.personProportion) return this.nextPerson(epoch, offset, timestampMs);
    if (offset < this.personProportion + this.auctionProportion) {
      return this.nextAuction(eventNumber, epoch, offset, timestampMs);
    }
    return this.nextBid(epoch, offset, timestampMs);
  }

  /** PersonGenerator.lastBase0PersonId: the newest person id (base 0) at this event. */
  private lastBase0PersonId(epoch: number, offset: number): number {
    const personOffset = offset >= this.personProportion ? this.personProportion - 1 : offset;
    return epoch * this.personProportion + personOffset;
  }

  /** AuctionGenerator.lastBase0AuctionId: the newest auction id (base 0) at this event. */
  private lastBase0AuctionId(epoch: number, offset: number): number {
    if (offset < this.personProportion) return (epoch - 1) * this.auctionProportion + this.auctionProportion - 1;
    if (offset >= this.personProportion + this.auctionProportion) {
      return epoch * this.auctionProportion + this.auctionProportion - 1;
    }
    return epoch * this.auctionProportion + offset - this.personProportion;
  }

  /** PersonGenerator.nextBase0PersonId: an active person or one of the next few. */
  private nextBase0PersonId(epoch: number, offset: number): number {
    const numPeople = this.lastBase0PersonId(epoch, offset) + 1;
    const activePeople = Math.min(numPeople, this.numActivePeople);
    return numPeople - activePeople + this.nextLongBelow(activePeople + PERSON_ID_LEAD);
  }

  /** AuctionGenerator.nextBase0AuctionId: an auction likely still in flight, or one of the next few. */
  private nextBase0AuctionId(epoch: number, offset: number): number {
    const maxAuction = this.lastBase0AuctionId(epoch, offset);
    const minAuction = Math.max(maxAuction - this.numInFlightAuctions, 0);
    return minAuction + this.nextLongBelow(maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
  }

  /** LongGenerator.nextLong: 0 ≤ x < n, with the reference's skewed fallback for huge n. */
  private nextLongBelow(n: number): number {
    if (n < INT32_MAX) return this.random.nextIntBounded(n);
    const remainder = this.random.nextLong() % BigInt(n);
    return Number(remainder < 0n ? -remainder : remainder);
  }

  /** PriceGenerator.nextPrice, in cents. */
  private nextPrice(): number {
    return priceCents(this.random.nextDouble() * 6);
  }

  private nextPerson(epoch: number, offset: number, timestampMs: number): Person {
    const random = this.random;
    const strings = this.strings;
    const id = this.lastBase0PersonId(epoch, offset) + FIRST_PERSON_ID;
    const firstName = FIRST_NAMES[random.nextIntBounded(FIRST_NAMES.length)]!;
    const name = `${firstName} ${LAST_NAMES[random.nextIntBounded(LAST_NAMES.length)]!}`;
    const emailUser = strings.nextString(7);
    const emailAddress = `${emailUser}@${strings.nextString(5)}.com`;
    const card1 = fourDigits(random.nextIntBounded(10_000));
    const card2 = fourDigits(random.nextIntBounded(10_000));
    const card3 = fourDigits(random.nextIntBounded(10_000));
    const creditCard = `${card1} ${card2} ${card3} ${fourDigits(random.nextIntBounded(10_000))}`;
    const city = US_CITIES[random.nextIntBounded(US_CITIES.length)]!;
    const state = US_STATES[random.nextIntBounded(US_STATES.length)]!;
    const extra = this.padExtra
      ? strings.nextExtra(
          PERSON_FIXED_FIELDS_BYTES + name.length + emailAddress.length + creditCard.length + city.length + state.length,
          this.config.avgPersonByteSize,
        )
      : '';
    return { kind: 'person', id, name, emailAddress, creditCard, city, state, dateTime: timestampMs, extra };
  }

  private nextAuction(eventNumber: number, epoch: number, offset: number, timestampMs: number): Auction {
    const random = this.random;
    const strings = this.strings;
    const id = this.lastBase0AuctionId(epoch, offset) + FIRST_AUCTION_ID;
    let seller: number;
    if (random.nextIntBounded(this.hotSellersRatio) > 0) {
      seller = Math.trunc(this.lastBase0PersonId(epoch, offset) / HOT_SELLER_BATCH_SIZE) * HOT_SELLER_BATCH_SIZE;
    } else {
      seller = this.nextBase0PersonId(epoch, offset);
    }
    seller += FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + random.nextIntBounded(NUM_CATEGORIES);
    const initialBid = this.nextPrice();
    const expires = timestampMs + this.nextAuctionLengthMs(eventNumber, timestampMs);
    const itemName = strings.nextString(20);
    const description = strings.nextString(100);
    const reserve = initialBid + this.nextPrice();
    const extra = this.padExtra
      ? strings.nextExtra(
          AUCTION_FIXED_FIELDS_BYTES + itemName.length + description.length,
          this.config.avgAuctionByteSize,
        )
      : '';
    return {
      kind: 'auction', id, itemName, description, initialBid, reserve, dateTime: timestampMs, expires, seller, category,
      extra,
    };
  }

  /**
   * AuctionGenerator.nextAuctionLengthMs: uniform in [1, 2·horizon], the horizon being the time
   * until numInFlightAuctions more auctions exist, so that about that many stay open.
   */
  private nextAuctionLengthMs(eventNumber: number, timestampMs: number): number {
    const horizonMs = this.timestampForEvent(eventNumber + this.eventsForInFlightAuctions) - timestampMs;
    return 1 + this.nextLongBelow(Math.max(horizonMs * 2, 1));
  }

  private nextBid(epoch: number, offset: number, timestampMs: number): Bid {
    const random = this.random;
    let auction: number;
    if (random.nextIntBounded(this.hotAuctionRatio) > 0) {
      auction = Math.trunc(this.lastBase0AuctionId(epoch, offset) / HOT_AUCTION_BATCH_SIZE) * HOT_AUCTION_BATCH_SIZE;
    } else {
      auction = this.nextBase0AuctionId(epoch, offset);
    }
    auction += FIRST_AUCTION_ID;
    let bidder: number;
    if (random.nextIntBounded(this.hotBiddersRatio) > 0) {
      // The second person of the batch, so that hot bidders and hot sellers differ.
      bidder = Math.trunc(this.lastBase0PersonId(epoch, offset) / HOT_BIDDER_BATCH_SIZE) * HOT_BIDDER_BATCH_SIZE + 1;
    } else {
      bidder = this.nextBase0PersonId(epoch, offset);
    }
    bidder += FIRST_PERSON_ID;
    const price = this.nextPrice();
    let channel: string;
    let url: string;
    if (random.nextIntBounded(HOT_CHANNELS_RATIO) > 0) {
      const hotIndex = random.nextIntBounded(HOT_CHANNELS.length);
      channel = this.channels.hotNames[hotIndex]!;
      url = this.channels.hotUrls[hotIndex]!;
    } else {
      const channelNumber = random.nextIntBounded(CHANNELS_NUMBER);
      channel = this.channels.names[channelNumber]!;
      url = this.channels.urls[channelNumber]!;
    }
    const extra = this.padExtra ? this.strings.nextExtra(BID_FIXED_FIELDS_BYTES, this.config.avgBidByteSize) : '';
    return { kind: 'bid', auction, bidder, price, channel, url, dateTime: timestampMs, extra };
  }
}
