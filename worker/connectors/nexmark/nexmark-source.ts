// The Nexmark generator as a Sluice source: deterministic and seeded, split into interleaved
// event-number ranges (split i of n takes events i, i+n, …), bounded when `maxEvents` is set,
// flat out or rate-limited in wall-clock time. Each record carries its event time (`dateTime`)
// as its timestamp, so a WatermarkStrategy needs no timestamp assigner. A split's position is
// the generator range still to come, so a restore continues with exactly the next event.

import type { PollStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SplitState } from '../../../shared/api/connectors.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { NexmarkGenerator, resolveNexmarkConfig, splitNexmarkRange, type NexmarkGeneratorConfig, type NexmarkGeneratorRange, type ResolvedNexmarkConfig } from '../../../shared/nexmark/generator.ts';
import type { NexmarkEvent } from '../../../shared/nexmark/model.ts';

export interface NexmarkSourceOptions extends NexmarkGeneratorConfig {
  /** Wall-clock rate limit for the whole source, events per second; absent: as fast as possible. */
  readonly ratePerSecond?: number;
  /** Number of splits; default: the source's parallelism. */
  readonly splitCount?: number;
}

export class NexmarkSource implements Source<NexmarkEvent> {
  readonly name = 'Nexmark';
  readonly bounded: boolean;
  private readonly config: ResolvedNexmarkConfig;

  constructor(private readonly options: NexmarkSourceOptions = {}) {
    const { ratePerSecond, splitCount, ...generatorConfig } = options;
    this.config = resolveNexmarkConfig(generatorConfig);
    this.bounded = Number.isFinite(this.config.maxEvents);
    if (ratePerSecond !== undefined && (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0)) {
      throw new ConfigurationError('ratePerSecond', `must be a positive number of events per second, got ${ratePerSecond}`);
    }
    if (splitCount !== undefined && (!Number.isInteger(splitCount) || splitCount < 1)) {
      throw new ConfigurationError('splitCount', `must be a positive integer, got ${splitCount}`);
    }
  }

  discoverSplits(context: { parallelism: number }): SplitState[] {
    const count = this.options.splitCount ?? context.parallelism;
    return splitNexmarkRange({}, count).map((range, i) => ({ id: `nexmark-${i}-of-${count}`, position: range }));
  }

  createReader(context: SourceReaderContext): SourceReader<NexmarkEvent> {
    return new NexmarkReader(this.config, this.options.ratePerSecond, context);
  }
}

class NexmarkReader implements SourceReader<NexmarkEvent> {
  private splits: Array<{ id: string; generator: NexmarkGenerator; finished: boolean }> = [];
  private next = 0;
  private startedAtMs: number;
  private emitted = 0;
  private readonly ratePerSecond: number | undefined;
  /** Reused between polls: the generator fills it a batch at a time. */
  private readonly buffer: NexmarkEvent[] = [];

  constructor(private readonly config: ResolvedNexmarkConfig, totalRatePerSecond: number | undefined, private readonly context: SourceReaderContext) {
    this.startedAtMs = context.now();
    // The limit is for the whole source; each subtask takes its share.
    this.ratePerSecond = totalRatePerSecond === undefined ? undefined : totalRatePerSecond / context.parallelism;
  }

  get waitHintMs(): number {
    return this.ratePerSecond === undefined ? 0 : Math.max(1, Math.min(50, 1000 / this.ratePerSecond));
  }

  addSplits(splits: readonly SplitState[]): void {
    for (const split of splits) {
      const generator = new NexmarkGenerator(this.config, split.position as NexmarkGeneratorRange);
      this.splits.push({ id: split.id, generator, finished: false });
    }
  }

  poll(output: SourceOutput<NexmarkEvent>, maxRecords: number): PollStatus {
    let budget = maxRecords;
    if (this.ratePerSecond !== undefined) {
      let allowed = Math.floor(((this.context.now() - this.startedAtMs) / 1000) * this.ratePerSecond) - this.emitted;
      // A reader held up (a slow start, a busy machine) catches up at most one second's worth:
      // the rate stays a rate instead of turning into a burst of everything it missed.
      const burst = Math.ceil(this.ratePerSecond);
      if (allowed > burst) {
        this.startedAtMs += ((allowed - burst) / this.ratePerSecond) * 1000;
        allowed = burst;
      }
      if (allowed <= 0) return 'wait';
      budget = Math.min(budget, allowed);
    }
    const splits = this.splits;
    let live = 0;
    for (const s of splits) if (!s.finished) live++;
    if (live === 0) return 'end';
    // Round-robin over splits in slices, so their watermarks advance together.
    const slice = Math.max(1, Math.ceil(budget / live));
    let produced = 0;
    for (let n = 0; n < splits.length && produced < budget; n++) {
      const index = (this.next + n) % splits.length;
      const split = splits[index]!;
      if (split.finished) continue;
      const generator = split.generator;
      const events = this.buffer;
      const count = generator.fill(events, Math.min(slice, budget - produced));
      for (let i = 0; i < count; i++) {
        const event = events[i]!;
        output.collect(event, index, event.dateTime);
      }
      events.length = 0;
      produced += count;
      if (!generator.hasNext()) {
        split.finished = true;
        output.finishSplit(index);
      }
    }
    this.next = (this.next + 1) % Math.max(1, splits.length);
    this.emitted += produced;
    return splits.every((s) => s.finished) ? 'end' : 'more';
  }

  snapshotSplits(): SplitState[] {
    return this.splits.map((s) => ({ id: s.id, position: s.generator.checkpoint() }));
  }

  close(): void {}
}
