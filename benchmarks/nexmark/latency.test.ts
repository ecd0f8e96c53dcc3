// Latency mode's pieces: the histogram's percentiles, the kept-up rule, the paced source's
// schedule and the sink's measurement window (the Flink side computes the same way).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SourceOutput, SourceReaderContext } from '../../shared/api/connectors.ts';
import type { NexmarkEvent } from '../../shared/nexmark/model.ts';
import { HISTOGRAM_MS, LatencyHistogram, LatencySink, latencyFigures, PacedNexmarkSource } from './latency.ts';

describe('latency mode', () => {
  it('takes nearest-rank percentiles from 1 ms buckets', () => {
    const h = new LatencyHistogram();
    assert.equal(h.percentile(0.5), null);
    for (let ms = 1; ms <= 100; ms++) h.record(ms);
    assert.equal(h.percentile(0.5), 50);
    assert.equal(h.percentile(0.99), 99);
    assert.equal(h.percentile(1), 100);
    h.record(-2);
    h.record(HISTOGRAM_MS + 5);
    assert.equal(h.negative, 1);
    assert.equal(h.counts[0], 1);
    assert.equal(h.counts[HISTOGRAM_MS], 1);
    assert.equal(h.maxMs, HISTOGRAM_MS + 5);
    assert.equal(h.percentile(1), HISTOGRAM_MS);
  });

  it('reports no latency when the source fell behind', () => {
    const h = new LatencyHistogram();
    h.record(5);
    const base = 1_000_000;
    const ok = latencyFigures(h, { rate: 1000, events: 10_000, baseMs: base, firstEmitMs: base + 20, lastEmitMs: base + 10_000 });
    assert.equal(ok.keptUp, true);
    assert.equal(ok.p50Ms, 5);
    assert.equal(ok.startLagMs, 20);
    const late = latencyFigures(h, { rate: 1000, events: 10_000, baseMs: base, firstEmitMs: base, lastEmitMs: base + 10_500 });
    assert.equal(late.keptUp, false);
    assert.equal(late.p50Ms, null);
    assert.match(late.latencyNote!, /could not keep up with 1000 events\/s/);
  });

  it('paces events by their due time from the first reader, stamped with it', () => {
    let now = 5_000_000;
    const source = new PacedNexmarkSource({ maxEvents: 100, ratePerSecond: 1000 });
    const context: SourceReaderContext = { subtaskIndex: 0, parallelism: 1, now: () => now };
    const reader = source.createReader(context);
    reader.addSplits(source.discoverSplits({ parallelism: 1 }) as never);
    const times: number[] = [];
    const output: SourceOutput<NexmarkEvent> = { collect: (_e, _s, t) => times.push(t!), deadLetter: () => {}, finishSplit: () => {} };
    assert.equal(source.baseMs, 5_000_000);
    assert.equal(source.fromMs, 5_003_000);
    assert.equal(source.toMs, 5_000_000 + 100 - 1000);
    assert.equal(reader.poll(output, 1024), 'more'); // event 0 is due at base
    assert.deepEqual(times, [5_000_000]);
    assert.equal(reader.poll(output, 1024), 'wait');
    now += 10; // events 1 … 10
    reader.poll(output, 1024);
    assert.equal(times.length, 11);
    assert.ok(times.every((t) => t <= now));
    now += 1000; // far behind: the rest at once
    assert.equal(reader.poll(output, 1024), 'end');
    assert.equal(times.length, 100);
    assert.equal(times[99], 5_000_099);
  });

  it('records only results inside the measurement window', () => {
    const window = { fromMs: 100, toMs: 200 };
    const sink = new LatencySink(window);
    const writer = sink.createWriter();
    const now = Date.now();
    writer.write({}, 99);
    writer.write({}, 200);
    window.fromMs = now - 10;
    window.toMs = now + 10;
    writer.write({}, now - 5);
    assert.equal(sink.results, 3);
    assert.equal(sink.histogram.total, 1);
    assert.ok(sink.histogram.maxMs >= 5 && sink.histogram.maxMs < 1000);
  });
});
