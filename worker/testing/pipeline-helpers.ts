// Small helpers the engine's tests share: a deterministic environment and an order-free view
// of results.

import { StreamExecutionEnvironment } from '../../shared/api/environment.ts';

/** An environment whose watermark advances after every record, so runs are deterministic. */
export function deterministicEnv(parallelism = 1): StreamExecutionEnvironment {
  return new StreamExecutionEnvironment().setParallelism(parallelism).setAutoWatermarkInterval(0);
}

/** Results as a sorted list of their JSON: equal multisets compare equal whatever the order. */
export function multiset<T>(values: readonly T[]): string[] {
  return values.map((v) => JSON.stringify(v)).sort();
}
