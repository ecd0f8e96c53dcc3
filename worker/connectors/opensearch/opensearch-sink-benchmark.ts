// `benchmarkOpenSearchSink(args)`: documents/s indexed into the real OpenSearch node
// (scripts/services.sh start opensearch) by the OpenSearch sink's writer, against a plain loop of
// `_bulk` requests of the same size through the same client, so the sink's own cost can be read off:
//
//   client loop   NDJSON bodies of --batch documents built by hand, sent one after the other
//   sink writer   the sink's writer: write every document, prepareCommit (flushes as batches fill)
//
// Documents are { id, name, amount, text } with distinct ids into a fresh index (one shard, no
// replica), after an unmeasured warm-up of 20,000 documents. Prints one line per phase and writes benchmarks/results/opensearch-sink-<time>.json.
// Run: node --import tsx worker/connectors/opensearch/opensearch-sink-benchmark.ts [--documents N] [--batch N]

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@opensearch-project/opensearch';
import { requireOpenSearch } from '../../../shared/testing/opensearch-service.ts';
import { OpenSearchSink } from './opensearch-sink.ts';

interface Doc {
  id: number;
  name: string;
  amount: number;
  text: string;
}

interface Figure {
  readonly phase: 'client loop' | 'sink writer';
  readonly documents: number;
  readonly seconds: number;
  readonly documentsPerSecond: number;
}

const root = new URL('../../..', import.meta.url).pathname;
const INDEX = 'sluice-bench-documents';

export async function benchmarkOpenSearchSink(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { documents: { type: 'string', default: '100000' }, batch: { type: 'string', default: '1000' } } });
  const documentCount = Number(values.documents);
  const batch = Number(values.batch);
  const url = await requireOpenSearch();
  const docs: Doc[] = Array.from({ length: documentCount }, (_, i) => ({ id: i, name: `name-${i % 1000}`, amount: (i * 7) % 10_000, text: `document number ${i} of the benchmark` }));
  const client = new Client({ node: url, requestTimeout: 120_000 });
  const freshIndex = async () => {
    await client.indices.delete({ index: INDEX, ignore_unavailable: true });
    await client.indices.create({ index: INDEX, body: { settings: { number_of_shards: 1, number_of_replicas: 0 } } });
  };
  const figures: Figure[] = [];
  const clientLoop = async (documents: readonly Doc[]) => {
    for (let start = 0; start < documents.length; start += batch) {
      let body = '';
      for (const d of documents.slice(start, start + batch)) body += `${JSON.stringify({ index: { _index: INDEX, _id: String(d.id) } })}\n${JSON.stringify(d)}\n`;
      const response = await client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: body });
      if ((response.body as { errors: boolean }).errors) throw new Error('client loop: the bulk request had item errors');
    }
  };
  const record = async (phase: Figure['phase'], run: () => Promise<void>) => {
    await freshIndex();
    const start = process.hrtime.bigint();
    await run();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    await client.indices.refresh({ index: INDEX });
    const indexed = (await client.count({ index: INDEX })).body.count;
    if (indexed !== documentCount) throw new Error(`${phase}: ${indexed} documents in the index, expected ${documentCount}`);
    const figure = { phase, documents: documentCount, seconds, documentsPerSecond: documentCount / seconds };
    figures.push(figure);
    console.log(`${phase.padEnd(12)} ${documentCount.toLocaleString('en-US')} documents in ${seconds.toFixed(2)} s = ${Math.round(figure.documentsPerSecond).toLocaleString('en-US')} documents/s`);
  };

  try {
    console.log(`opensearch-sink: ${documentCount.toLocaleString('en-US')} documents, ${batch} a bulk request`);
    // The node's first requests run cold (JIT, index creation paths): a warm-up that is not measured.
    await freshIndex();
    await clientLoop(docs.slice(0, Math.min(docs.length, 20_000)));
    await record('client loop', () => clientLoop(docs));
    await record('sink writer', async () => {
      const sink = new OpenSearchSink<Doc>({ node: url, index: INDEX, documentId: (d) => d.id, maxBatchDocuments: batch, maxBatchBytes: 100 * 1024 * 1024 });
      const writer = await sink.createWriter({ subtaskIndex: 0, parallelism: 1, jobName: 'opensearch-sink-benchmark', job: { id: 'opensearch-sink-benchmark', submittedAtMs: 0 }, now: () => Date.now() });
      for (const d of docs) writer.write(d, 0);
      await writer.prepareCommit(1);
      await writer.close();
    });
  } finally {
    await client.indices.delete({ index: INDEX, ignore_unavailable: true }).catch(() => {});
    await client.close();
  }
  const resultsDir = join(root, 'benchmarks', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `opensearch-sink-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: 'opensearch-sink', documents: documentCount, batch, cpus: cpus().length, node: process.version, figures }, null, 2) + '\n');
  console.log(`written ${file}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchmarkOpenSearchSink(process.argv.slice(2)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
