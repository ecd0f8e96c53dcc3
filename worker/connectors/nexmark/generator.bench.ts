// Measures how fast NexmarkGenerator.fill produces events on one core, the ceiling for the
// Nexmark source (the q1 target needs well over 3 M events/s from it).
// Run: node --import tsx worker/connectors/nexmark/generator.bench.ts [events] [--pad]

import { NexmarkGenerator, type NexmarkEvent } from './index.ts';

const totalEvents = Number(process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? 20_000_000);
const padExtraToAverageSize = process.argv.includes('--pad');
const batchSize = 1024;

function run(label: string, events: number): void {
  const generator = new NexmarkGenerator({ padExtraToAverageSize }, { eventCount: events });
  const batch: NexmarkEvent[] = new Array(batchSize);
  let bids = 0;
  // Touch a field so that the work cannot be optimized away.
  let priceChecksum = 0;
  const startNs = process.hrtime.bigint();
  for (let filled = generator.fill(batch, batchSize); filled > 0; filled = generator.fill(batch, batchSize)) {
    for (let i = 0; i < filled; i++) {
      const event = batch[i]!;
      if (event.kind === 'bid') {
        bids++;
        priceChecksum = (priceChecksum + event.price) % 1_000_000_007;
      }
    }
  }
  const elapsedSeconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  const eventsPerSecond = events / elapsedSeconds;
  const bidsPerSecond = bids / elapsedSeconds;
  console.log(
    `${label}: ${events.toLocaleString('en-US')} events in ${elapsedSeconds.toFixed(2)} s = ` +
      `${(eventsPerSecond / 1e6).toFixed(2)} M events/s (${(bidsPerSecond / 1e6).toFixed(2)} M bids/s)` +
      `${padExtraToAverageSize ? ', extra padded to reference sizes' : ''} [checksum ${priceChecksum}]`,
  );
}

run('warm-up', Math.min(totalEvents, 2_000_000));
run('fill', totalEvents);
