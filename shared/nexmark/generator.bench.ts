// Measures how fast NexmarkGenerator.fill produces events on one core: the ceiling for the
// Nexmark source (the q1 target needs well over 3 M events/s from it).
// Run: node --import tsx shared/nexmark/generator.bench.ts [events] [--pad]
// Prints the reference mix (1 : 3 : 46) and, since bids are what q1 reads, a stream of almost
// only bids. Rates are per second of this process's CPU time, so other load on the machine
// skews them less than wall time would.

import { NexmarkGenerator, type NexmarkGeneratorConfig } from './generator.ts';
import type { NexmarkEvent } from './model.ts';

const totalEvents = Number(process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? 20_000_000);
const padExtraToAverageSize = process.argv.includes('--pad');
const batchSize = 1024;

function run(label: string, config: NexmarkGeneratorConfig, events: number): void {
  const generator = new NexmarkGenerator({ ...config, padExtraToAverageSize }, { eventCount: events });
  const batch: NexmarkEvent[] = new Array(batchSize);
  let bids = 0;
  // Reads a field of every bid so that the work cannot be optimized away.
  let priceChecksum = 0;
  const wallStartNs = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  for (let filled = generator.fill(batch, batchSize); filled > 0; filled = generator.fill(batch, batchSize)) {
    for (let i = 0; i < filled; i++) {
      const event = batch[i]!;
      if (event.kind === 'bid') {
        bids++;
        priceChecksum = (priceChecksum + event.price) % 1_000_000_007;
      }
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = Number(process.hrtime.bigint() - wallStartNs) / 1e9;
  console.log(
    `${label}: ${events.toLocaleString('en-US')} events in ${cpuSeconds.toFixed(2)} s CPU ` +
      `(${wallSeconds.toFixed(2)} s wall) = ${(events / cpuSeconds / 1e6).toFixed(2)} M events/s, ` +
      `${(bids / cpuSeconds / 1e6).toFixed(2)} M bids/s` +
      `${padExtraToAverageSize ? ', extra padded to reference sizes' : ''} [checksum ${priceChecksum}]`,
  );
}

const referenceMix: NexmarkGeneratorConfig = {};
const almostOnlyBids: NexmarkGeneratorConfig = { personProportion: 1, auctionProportion: 1, bidProportion: 998 };
run('warm-up', referenceMix, Math.min(totalEvents, 2_000_000));
run('fill, reference mix 1:3:46', referenceMix, totalEvents);
run('fill, bids only (1:1:998)', almostOnlyBids, totalEvents);
