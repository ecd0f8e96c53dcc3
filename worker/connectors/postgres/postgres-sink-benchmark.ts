// `benchmarkPostgresSink(args)`: rows/s written into the real PostgreSQL server
// (scripts/services.sh start postgres) by the PostgreSQL sink's writer, against a plain `pg` loop
// of the same multi-row upserts, so the sink's own cost can be read off:
//
//   pg loop        INSERT … ON CONFLICT (id) DO UPDATE of --batch rows a statement, one after the other
//   at-least-once  the sink's writer: write every row, prepareCommit (flushes as batches fill)
//   exactly-once   the sink's writer: write, prepareCommit every --checkpoint rows, commit it (one
//                  transaction per checkpoint, with the sluice_sink_commits row)
//
// Rows are { id, name, amount } with distinct ids into a fresh table with a primary key on id.
// Prints one line per phase and writes benchmarks/results/postgres-sink-<time>.json.
// Run: node --import tsx worker/connectors/postgres/postgres-sink-benchmark.ts [--rows N] [--batch N] [--checkpoint N]

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { requirePostgres } from '../../../shared/testing/postgres-service.ts';
import { PostgresSink } from './postgres-sink.ts';

interface Row {
  id: number;
  name: string;
  amount: number;
}

interface Figure {
  readonly phase: 'pg loop' | 'at-least-once' | 'exactly-once';
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

const root = new URL('../../..', import.meta.url).pathname;
const TABLE = 'sluice_bench_rows';

export async function benchmarkPostgresSink(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { rows: { type: 'string', default: '200000' }, batch: { type: 'string', default: '500' }, checkpoint: { type: 'string', default: '20000' } } });
  const rowCount = Number(values.rows);
  const batchSize = Number(values.batch);
  const checkpointRows = Number(values.checkpoint);
  const url = await requirePostgres();
  const rows: Row[] = Array.from({ length: rowCount }, (_, i) => ({ id: i, name: `name-${i % 1000}`, amount: (i * 7) % 10_000 }));
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const freshTable = async () => {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await admin.query(`CREATE TABLE ${TABLE} (id integer PRIMARY KEY, name text NOT NULL, amount integer NOT NULL)`);
  };
  const figures: Figure[] = [];
  const record = async (phase: Figure['phase'], run: () => Promise<void>) => {
    await freshTable();
    const start = process.hrtime.bigint();
    await run();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const written = Number((await admin.query(`SELECT count(*)::int AS n FROM ${TABLE}`)).rows[0].n);
    if (written !== rowCount) throw new Error(`${phase}: ${written} rows in the table, expected ${rowCount}`);
    const figure = { phase, rows: rowCount, seconds, rowsPerSecond: rowCount / seconds };
    figures.push(figure);
    console.log(`${phase.padEnd(14)} ${rowCount.toLocaleString('en-US')} rows in ${seconds.toFixed(2)} s = ${Math.round(figure.rowsPerSecond).toLocaleString('en-US')} rows/s`);
  };
  const context = { subtaskIndex: 0, parallelism: 1, jobName: 'postgres-sink-benchmark', job: { id: 'postgres-sink-benchmark', submittedAtMs: 0 }, now: () => Date.now() };

  try {
    console.log(`postgres-sink: ${rowCount.toLocaleString('en-US')} rows, ${batchSize} rows a statement, exactly-once checkpoints of ${checkpointRows} rows`);
    await record('pg loop', async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      for (let start = 0; start < rows.length; start += batchSize) {
        const chunk = rows.slice(start, start + batchSize);
        const params: unknown[] = [];
        const tuples = chunk.map((r, i) => {
          params.push(r.id, r.name, r.amount);
          return `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`;
        });
        await client.query(`INSERT INTO ${TABLE} (id, name, amount) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, amount = EXCLUDED.amount`, params);
      }
      await client.end();
    });
    await record('at-least-once', async () => {
      const sink = new PostgresSink<Row>({ connection: url, table: TABLE, columns: ['id', 'name', 'amount'], keyColumns: ['id'], batchSize });
      const writer = await sink.createWriter(context, undefined);
      for (const row of rows) writer.write(row, 0);
      await writer.prepareCommit(1);
      await writer.close();
    });
    await record('exactly-once', async () => {
      const sink = new PostgresSink<Row>({
        connection: url, table: TABLE, columns: ['id', 'name', 'amount'], keyColumns: ['id'], batchSize, deliveryGuarantee: 'exactly-once', sinkId: 'postgres-sink-benchmark',
      });
      const writer = await sink.createWriter(context, undefined);
      let checkpointId = 0;
      for (let start = 0; start < rows.length; start += checkpointRows) {
        for (const row of rows.slice(start, start + checkpointRows)) writer.write(row, 0);
        await writer.commit([await writer.prepareCommit(++checkpointId)]);
      }
      await writer.close();
    });
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => {});
    await admin.query(`DELETE FROM sluice_sink_commits WHERE sink_id = 'postgres-sink-benchmark'`).catch(() => {});
    await admin.end();
  }
  const resultsDir = join(root, 'benchmarks', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `postgres-sink-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: 'postgres-sink', rows: rowCount, batchSize, checkpointRows, cpus: cpus().length, node: process.version, figures }, null, 2) + '\n');
  console.log(`written ${file}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchmarkPostgresSink(process.argv.slice(2)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
