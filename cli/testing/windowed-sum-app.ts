// A test application: sums values per key in 1-second event-time windows from a JSON-lines
// file into JSON-lines part files. Property `test.slowMsPer1000` slows it down (a busy pause
// per thousand records) so a test can kill it mid-run.

import { TumblingEventTimeWindows, WatermarkStrategy, type Application } from 'sluice';
import { JsonLinesFileSink, JsonLinesFileSource } from 'sluice/connectors';

interface Reading {
  key: string;
  t: number;
  v: number;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

const app: Application = (env, properties) => {
  const input = properties.test?.input;
  const output = properties.test?.output;
  if (!input || !output) throw new Error('properties test.input and test.output are required');
  const slowMsPer1000 = Number(properties.test?.slowMsPer1000 ?? '0');
  let seen = 0;
  env
    .fromSource(new JsonLinesFileSource<Reading>({ paths: [input] }), WatermarkStrategy.forBoundedOutOfOrderness<Reading>(200).withTimestampAssigner((r) => r.t), 'readings')
    .uid('readings')
    .map((r) => {
      if (slowMsPer1000 > 0 && ++seen % 1000 === 0) Atomics.wait(pause, 0, 0, slowMsPer1000);
      return r;
    })
    .keyBy((r) => r.key)
    .window(TumblingEventTimeWindows.of(1_000))
    .reduce((a, b) => ({ key: a.key, t: Math.max(a.t, b.t), v: a.v + b.v }))
    .uid('sum-per-key')
    .map((r) => ({ key: r.key, windowEnd: Math.floor(r.t / 1000) * 1000 + 1000, sum: r.v }))
    .sinkTo(new JsonLinesFileSink({ directory: output }))
    .uid('sums');
};

export default app;
