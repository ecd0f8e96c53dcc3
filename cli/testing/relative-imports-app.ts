// A test application that imports Sluice by relative path, as a file inside the repository can:
// the API's entry, and a connector from deep inside worker/. `sluice package` must take both from
// the runtime ('sluice', 'sluice/connectors') rather than bundle them. Doubles `test.count`
// numbers and writes them as JSON lines to `test.output`.

import { CollectionSource, WatermarkStrategy, type Application } from '../../shared/api/index.ts';
import { JsonLinesFileSink } from '../../worker/connectors/files/index.ts';

const app: Application = (env, properties) => {
  const output = properties.test?.output;
  const count = Number(properties.test?.count ?? '100');
  if (!output) throw new Error('property test.output is required');
  env
    .fromSource(new CollectionSource(Array.from({ length: count }, (_, i) => i)), WatermarkStrategy.noWatermarks<number>(), 'numbers')
    .uid('numbers')
    .map((n) => ({ n, doubled: n * 2 }))
    .sinkTo(new JsonLinesFileSink<{ n: number; doubled: number }>({ directory: output }))
    .uid('doubled-sink');
};

export default app;
