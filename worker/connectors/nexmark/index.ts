// The Nexmark benchmark's event generator: deterministic, seeded, splittable and resumable.

export type { Auction, Bid, NexmarkEvent, NexmarkEventKind, Person } from './model.ts';
export {
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_PERSON_ID,
  NexmarkGenerator,
  REFERENCE_BASE_TIME_MS,
  resolveNexmarkConfig,
  splitNexmarkRange,
} from './generator.ts';
export type { NexmarkGeneratorConfig, NexmarkGeneratorRange, ResolvedNexmarkConfig } from './generator.ts';
export { JavaRandom } from './java-random.ts';
