// The Nexmark benchmark's event generator: deterministic, seeded, splittable and resumable.

export type { Auction, Bid, NexmarkEvent, NexmarkEventKind, Person } from '../../../shared/nexmark/model.ts';
export {
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_PERSON_ID,
  NexmarkGenerator,
  REFERENCE_BASE_TIME_MS,
  resolveNexmarkConfig,
  splitNexmarkRange,
} from '../../../shared/nexmark/generator.ts';
export type { NexmarkGeneratorConfig, NexmarkGeneratorRange, ResolvedNexmarkConfig } from '../../../shared/nexmark/generator.ts';
export { JavaRandom } from '../../../shared/nexmark/java-random.ts';
