// A micro-benchmark of the data-plane codec: records/s to encode and decode batches of ~100-byte
// Nexmark-like bids, through the columnar path and through the v8.serialize fallback, next to
// plain v8.serialize and JSON of the same arrays for reference. Not a test; run it with
//   node --import tsx worker/network/record-batch-codec.bench.ts [recordsPerRun] [batchSize]

import { deserialize, serialize } from 'node:v8';
import type { ChannelEvent } from '../runtime/exchange.ts';
import { ChannelEventDecoder, ChannelEventEncoder, recordsEncodingPath } from './record-batch-codec.ts';

const RECORDS_PER_RUN = Number(process.argv[2] ?? 3_000_000);
const BATCH_SIZE = Number(process.argv[3] ?? 1024);
const ROUNDS = 5;
const BATCH_COUNT = 64;

function bid(i: number): Record<string, unknown> {
  return {
    auction: 1000 + (i % 997),
    bidder: 2000 + ((i * 7) % 10_007),
    price: 100 + ((i * 7919) % 1_000_000),
    channel: ['Google', 'Facebook', 'Baidu', 'Apple'][i % 4],
    url: `https://www.nexmark.com/${(i % 26).toString(36)}bc/item.htm?query=${i % 1000}`,
    dateTime: 1_700_000_000_000 + i,
  };
}

/** The same bid with a Date: not a primitive, so the batch goes through v8.serialize. */
function bidWithDate(i: number): Record<string, unknown> {
  return { ...bid(i), dateTime: new Date(1_700_000_000_000 + i) };
}

function batches(makeRecord: (i: number) => unknown): ChannelEvent[] {
  const out: ChannelEvent[] = [];
  for (let b = 0; b < BATCH_COUNT; b++) {
    const values: unknown[] = [];
    const timestamps: number[] = [];
    for (let i = 0; i < BATCH_SIZE; i++) {
      values.push(makeRecord(b * BATCH_SIZE + i));
      timestamps.push(1_700_000_000_000 + b * BATCH_SIZE + i);
    }
    out.push({ kind: 'records', values, timestamps });
  }
  return out;
}

/** Records/s of `work` over one batch, best of ROUNDS runs of RECORDS_PER_RUN records. */
function measure(work: (batch: number) => void): number {
  const batchesPerRun = Math.max(1, Math.round(RECORDS_PER_RUN / BATCH_SIZE));
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (let b = 0; b < batchesPerRun; b++) work(b % BATCH_COUNT);
    const seconds = (performance.now() - started) / 1000;
    best = Math.max(best, (batchesPerRun * BATCH_SIZE) / seconds);
  }
  return best;
}

function row(name: string, encode: number, decode: number, bytesPerRecord: number): void {
  const m = (n: number) => `${(n / 1e6).toFixed(2)} M rec/s`.padStart(14);
  console.log(`${name.padEnd(34)} encode ${m(encode)}   decode ${m(decode)}   ${bytesPerRecord.toFixed(1).padStart(6)} bytes/record`);
}

const encoder = new ChannelEventEncoder();
const decoder = new ChannelEventDecoder();

function benchmarkCodec(name: string, events: ChannelEvent[]): void {
  const encoded = events.map((event) => encoder.encode(event));
  const path = recordsEncodingPath(encoded[0]!);
  const encode = measure((b) => encoder.encode(events[b]!));
  const decode = measure((b) => decoder.decode(encoded[b]!));
  const bytes = encoded.reduce((sum, e) => sum + e.length, 0) / (BATCH_COUNT * BATCH_SIZE);
  row(`${name} (${path} path)`, encode, decode, bytes);
}

function benchmarkReference(name: string, events: ChannelEvent[], to: (values: unknown[]) => Buffer, from: (bytes: Buffer) => unknown): void {
  const values = events.map((event) => (event.kind === 'records' ? event.values : []));
  const encoded = values.map(to);
  const encode = measure((b) => to(values[b]!));
  const decode = measure((b) => from(encoded[b]!));
  const bytes = encoded.reduce((sum, e) => sum + e.length, 0) / (BATCH_COUNT * BATCH_SIZE);
  row(name, encode, decode, bytes);
}

console.log(`batches of ${BATCH_SIZE} records, best of ${ROUNDS} runs of ${RECORDS_PER_RUN} records`);
const plain = batches(bid);
const withDates = batches(bidWithDate);
benchmarkCodec('codec, plain bids', plain);
benchmarkCodec('codec, bids with a Date', withDates);
benchmarkReference('reference: v8.serialize, plain bids', plain, serialize, deserialize);
benchmarkReference('reference: JSON, plain bids', plain, (v) => Buffer.from(JSON.stringify(v)), (b) => JSON.parse(b.toString()));
