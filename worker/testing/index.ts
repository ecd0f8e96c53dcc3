// What an application's own tests import (`sluice/testing`): run a pipeline to its end in
// embedded mode with in-memory checkpoints, and read what a CollectSink committed.
//
//   const env = new StreamExecutionEnvironment();
//   const sink = new CollectSink<number>();
//   env.fromElements(1, 2, 3).map((n) => n * 2).sinkTo(sink);
//   await runEmbedded(env);
//   assert.deepEqual(sink.values, [2, 4, 6]);

export { runEmbedded } from './embedded-harness.ts';
export type { HarnessOptions, HarnessResult } from './embedded-harness.ts';
export { CollectSink } from '../connectors/collect-sink.ts';
export type { CollectedRecord } from '../connectors/collect-sink.ts';
export { UserMetricRegistry } from '../../shared/metrics/user-metrics.ts';
export type { MetricSample } from '../../shared/metrics/user-metrics.ts';
