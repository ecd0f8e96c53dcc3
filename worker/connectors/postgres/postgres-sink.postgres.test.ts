// The PostgreSQL sink against a real PostgreSQL server (scripts/services.sh start postgres):
// batched, idempotent upserts; exactly-once commits that a replay does not repeat, and that a
// later run numbering its checkpoints lower (a new job restored from the first one's snapshot)
// does not mistake for replays; a commit table of the layout without runs, upgraded; a job that
// crashes between a checkpoint's completion and its commit (before and after the transaction),
// restored, with lost and doubled rows counted; and the errors of wrong settings.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { requirePostgres } from '../../../shared/testing/postgres-service.ts';
import { InMemoryCheckpointStorage, type CheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../../runtime/embedded-executor.ts';
import { GatedSource } from '../../testing/gated-source.ts';
import { PostgresSink, type PostgresCommittable, type PostgresSinkWriterStatus } from './index.ts';
import type { PostgresSinkOptions } from './postgres-sink-options.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

let url: string;
let admin: pg.Client;
const tables: string[] = [];
let tableCounter = 0;

before(async () => {
  url = await requirePostgres();
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
});

after(async () => {
  for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`);
  await admin.query(`DELETE FROM sluice_sink_commits WHERE sink_id LIKE 'test-${process.pid}-%'`).catch(() => {});
  await admin.end();
});

/** A new table `name (definition)` for one test; dropped at the end. */
async function createTable(definition: string): Promise<string> {
  const name = `sluice_test_${process.pid}_${++tableCounter}`;
  tables.push(name);
  await admin.query(`DROP TABLE IF EXISTS ${name}`);
  await admin.query(`CREATE TABLE ${name} (${definition})`);
  return name;
}

function sinkId(what: string): string {
  return `test-${process.pid}-${what}`;
}

function context(subtaskIndex = 0, parallelism = 1): SinkWriterContext {
  return { subtaskIndex, parallelism, jobName: 'postgres-sink-test', job: { id: 'postgres-sink-test', submittedAtMs: 0 }, now: () => Date.now() };
}

function statusOf(writer: SinkWriter<unknown>): PostgresSinkWriterStatus {
  return (writer as unknown as { status(): PostgresSinkWriterStatus }).status();
}

async function count(table: string): Promise<number> {
  return Number((await admin.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
}

interface Account {
  id: number;
  name: string;
  balance: number;
}

describe('at-least-once: batched upserts', () => {
  it('writes rows in statements of batchSize rows, the last value of each key winning, and a replay changes nothing', async () => {
    const table = await createTable('id integer PRIMARY KEY, name text NOT NULL, balance integer');
    const sink = new PostgresSink<Account>({ connection: url, table, columns: ['id', 'name', 'balance'], keyColumns: ['id'], batchSize: 4, name: 'accounts' });
    const ids = [0, 1, 2, 3, 0, 4, 5, 1, 6, 2];
    const records = ids.map((id, i) => ({ id, name: `n${id}`, balance: i }));
    const expected = [
      { id: 0, name: 'n0', balance: 4 },
      { id: 1, name: 'n1', balance: 7 },
      { id: 2, name: 'n2', balance: 9 },
      { id: 3, name: 'n3', balance: 3 },
      { id: 4, name: 'n4', balance: 5 },
      { id: 5, name: 'n5', balance: 6 },
      { id: 6, name: 'n6', balance: 8 },
    ];

    const writer = await sink.createWriter(context(), undefined);
    for (const r of records) writer.write(r, 0);
    assert.equal(await writer.prepareCommit(1), undefined, 'at-least-once keeps nothing in the checkpoint');
    const status = statusOf(writer);
    assert.equal(status.rowsWritten, 10);
    assert.equal(status.statementsExecuted, 3, '10 rows in statements of at most 4');
    assert.deepEqual((await admin.query(`SELECT id, name, balance FROM ${table} ORDER BY id`)).rows, expected);
    await writer.close();

    // A replay after a failure writes the same records again: the table stays the same.
    const replay = await sink.createWriter(context(), undefined);
    for (const r of records) replay.write(r, 0);
    await replay.prepareCommit(2);
    await replay.close();
    assert.deepEqual((await admin.query(`SELECT id, name, balance FROM ${table} ORDER BY id`)).rows, expected);
  });

  it('maps records with toRow, and writes types pg and the checkpoint carry (dates, bigints, bytes, json)', async () => {
    const table = await createTable('k text PRIMARY KEY, at timestamptz, big bigint, bytes bytea, doc jsonb, missing text');
    const sink = new PostgresSink<{ key: string }>({
      connection: url,
      table,
      columns: ['k', 'at', 'big', 'bytes', 'doc', 'missing'],
      keyColumns: ['k'],
      toRow: (r) => ({ k: r.key, at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), big: 2n ** 60n, bytes: Uint8Array.of(1, 2, 255), doc: { a: [1, 2] } }),
    });
    const writer = await sink.createWriter(context(), undefined);
    writer.write({ key: 'x' }, 0);
    await writer.prepareCommit(1);
    await writer.close();
    const row = (await admin.query(`SELECT k, at, big::text AS big, encode(bytes, 'hex') AS bytes, doc, missing FROM ${table}`)).rows[0];
    assert.deepEqual(row, { k: 'x', at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), big: (2n ** 60n).toString(), bytes: '0102ff', doc: { a: [1, 2] }, missing: null });
  });

  it('connects with fields instead of a URL, the password given by a function (as an RDS IAM token would be)', async () => {
    const table = await createTable('id integer PRIMARY KEY');
    const parsed = new URL(url);
    let passwordCalls = 0;
    const sink = new PostgresSink<{ id: number }>({
      connection: {
        host: parsed.hostname,
        port: Number(parsed.port),
        user: decodeURIComponent(parsed.username),
        database: parsed.pathname.slice(1),
        password: async () => {
          passwordCalls++;
          return decodeURIComponent(parsed.password);
        },
      },
      table,
      columns: ['id'],
      keyColumns: ['id'],
    });
    const writer = await sink.createWriter(context(), undefined);
    writer.write({ id: 7 }, 0);
    await writer.prepareCommit(1);
    await writer.close();
    assert.equal(passwordCalls, 1);
    assert.deepEqual((await admin.query(`SELECT id FROM ${table}`)).rows, [{ id: 7 }]);
  });

  it('refuses a row with a field that is not a column, or without its key', async () => {
    const table = await createTable('id integer PRIMARY KEY, name text');
    const sink = new PostgresSink<Record<string, unknown>>({ connection: url, table, columns: ['id', 'name'], keyColumns: ['id'], name: 'strict' });
    const writer = await sink.createWriter(context(), undefined);
    try {
      assert.throws(() => writer.write({ id: 1, name: 'a', nmae: 'typo' }, 0), /PostgreSQL sink "strict": the row has field "nmae", which is not in setting columns/);
      assert.throws(() => writer.write({ name: 'a' }, 0), /PostgreSQL sink "strict": key column "id" is null or missing/);
    } finally {
      await writer.close();
    }
  });
});

describe('exactly-once: commits recorded with the checkpoint id', () => {
  it('shows nothing before the commit, writes a committable once, and skips it when it is handed again (also to a restored writer)', async () => {
    const table = await createTable('seq integer NOT NULL, payload text'); // no key: a second write would double rows
    const id = sinkId('replay');
    const options: PostgresSinkOptions<{ seq: number }> = {
      connection: url,
      table,
      columns: ['seq', 'payload'],
      toRow: (r) => ({ seq: r.seq, payload: `p${r.seq}` }),
      deliveryGuarantee: 'exactly-once',
      sinkId: id,
    };
    const sink = new PostgresSink(options);
    const writer = await sink.createWriter(context(), undefined);
    for (let seq = 0; seq < 5; seq++) writer.write({ seq }, 0);
    const first = (await writer.prepareCommit(1)) as PostgresCommittable;
    assert.equal(first.rows.length, 5);
    assert.equal(await count(table), 0, 'nothing is visible before the checkpoint completes');

    await writer.commit([first]);
    assert.equal(await count(table), 5);
    await writer.commit([first]);
    assert.equal(await count(table), 5, 'the same committable again writes nothing');
    assert.equal(statusOf(writer).commitsSkipped, 1);
    const recorded = await admin.query('SELECT checkpoint_id::int AS id FROM sluice_sink_commits WHERE sink_id = $1 AND subtask = 0', [id]);
    assert.deepEqual(recorded.rows, [{ id: 1 }]);

    for (let seq = 5; seq < 8; seq++) writer.write({ seq }, 0);
    const second = (await writer.prepareCommit(2)) as PostgresCommittable;
    const state = writer.snapshotState!();
    await writer.close();

    // A restored writer is handed both pending committables (the first was committed already).
    const restored = await sink.createWriter(context(), [state]);
    await restored.commit([JSON.parse(JSON.stringify(first)), JSON.parse(JSON.stringify(second))]);
    await restored.commit([second]);
    assert.equal(statusOf(restored).commitsApplied, 1);
    assert.equal(statusOf(restored).commitsSkipped, 2);
    await restored.close();
    const seqs = (await admin.query(`SELECT seq FROM ${table} ORDER BY seq`)).rows.map((r) => r.seq);
    assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('an older checkpoint handed after a newer one is skipped; a fresh start (no restored state) commits from checkpoint 1 again', async () => {
    const table = await createTable('seq integer NOT NULL');
    const id = sinkId('fresh');
    const sink = new PostgresSink<{ seq: number }>({ connection: url, table, columns: ['seq'], deliveryGuarantee: 'exactly-once', sinkId: id });
    const writer = await sink.createWriter(context(), undefined);
    writer.write({ seq: 1 }, 0);
    const c1 = await writer.prepareCommit(1);
    writer.write({ seq: 2 }, 0);
    const c2 = await writer.prepareCommit(2);
    await writer.commit([c2]);
    await writer.commit([c1]);
    assert.deepEqual((await admin.query(`SELECT seq FROM ${table}`)).rows, [{ seq: 2 }]);
    await writer.close();

    // A new run of the job without a checkpoint numbers checkpoints from 1 again.
    const fresh = await sink.createWriter(context(), undefined);
    fresh.write({ seq: 3 }, 0);
    await fresh.commit([await fresh.prepareCommit(1)]);
    await fresh.close();
    assert.deepEqual((await admin.query(`SELECT seq FROM ${table} ORDER BY seq`)).rows, [{ seq: 2 }, { seq: 3 }]);
  });

  it('the end of input (no checkpoint id yet) is committed under the id after the last one prepared', async () => {
    const table = await createTable('seq integer NOT NULL');
    const id = sinkId('end');
    const sink = new PostgresSink<{ seq: number }>({ connection: url, table, columns: ['seq'], deliveryGuarantee: 'exactly-once', sinkId: id });
    const writer = await sink.createWriter(context(), [{ lastCheckpointId: 6 }]);
    writer.write({ seq: 1 }, 0);
    const end = (await writer.prepareCommit(Number.MAX_SAFE_INTEGER)) as PostgresCommittable;
    assert.equal(end.checkpointId, 7);
    await writer.commit([end]);
    await writer.close();
    assert.equal(await count(table), 1);
  });
});

describe('exactly-once: runs whose checkpoint ids do not grow', () => {
  // A job stopped with a snapshot at checkpoint 7, then a new job (same sink id, a new run)
  // restored from it whose checkpoint ids start at 1 again, as restored cluster jobs' did.
  it('a new run restored from the first run\'s state commits its own checkpoints 1, 2, … once, and skips the first run\'s replayed commit', async () => {
    const table = await createTable('seq integer NOT NULL'); // no key: a second write would double rows
    const id = sinkId('lower-ids');
    const sink = new PostgresSink<{ seq: number }>({ connection: url, table, columns: ['seq'], deliveryGuarantee: 'exactly-once', sinkId: id });

    const first = await sink.createWriter(context(), undefined);
    const firstCommits: PostgresCommittable[] = [];
    for (let checkpoint = 5; checkpoint <= 7; checkpoint++) {
      first.write({ seq: checkpoint }, 0);
      firstCommits.push((await first.prepareCommit(checkpoint)) as PostgresCommittable);
    }
    const snapshotState = JSON.parse(JSON.stringify(first.snapshotState!()));
    const pendingInSnapshot = JSON.parse(JSON.stringify(firstCommits[2]));
    await first.commit(firstCommits); // the stop: the snapshot's checkpoint completes and commits
    await first.close();
    assert.deepEqual((await admin.query(`SELECT seq FROM ${table} ORDER BY seq`)).rows.map((r) => r.seq), [5, 6, 7]);

    const second = await sink.createWriter(context(), [snapshotState]);
    await second.commit([pendingInSnapshot]); // a restore commits the snapshot's pending rows again
    assert.equal(statusOf(second).commitsSkipped, 1, 'the first run\'s checkpoint 7 was committed already');
    const secondCommits: PostgresCommittable[] = [];
    for (let checkpoint = 1; checkpoint <= 2; checkpoint++) {
      second.write({ seq: 100 + checkpoint }, 0);
      const committable = (await second.prepareCommit(checkpoint)) as PostgresCommittable;
      await second.commit([committable]);
      secondCommits.push(committable);
    }
    second.write({ seq: 200 }, 0);
    const end = (await second.prepareCommit(Number.MAX_SAFE_INTEGER)) as PostgresCommittable;
    await second.commit([end]);
    // A replay of the second run's commits (its own retry, or a restore of its checkpoints) writes nothing.
    await second.commit([...secondCommits, end].map((c) => JSON.parse(JSON.stringify(c))));
    assert.deepEqual((await admin.query(`SELECT seq FROM ${table} ORDER BY seq`)).rows.map((r) => r.seq), [5, 6, 7, 101, 102, 200]);
    assert.equal(statusOf(second).commitsApplied, 3);
    assert.equal(statusOf(second).commitsSkipped, 1 + 3);
    await second.close();

    const recorded = await admin.query('SELECT run_id, subtask, checkpoint_id::int AS id FROM sluice_sink_commits WHERE sink_id = $1 ORDER BY checkpoint_id', [id]);
    assert.deepEqual(
      recorded.rows,
      [
        { run_id: end.run, subtask: 0, id: end.checkpointId },
        { run_id: pendingInSnapshot.run, subtask: 0, id: 7 },
      ].sort((a, b) => a.id - b.id),
      'one row per run and subtask',
    );
  });

  it('restored at a lower parallelism, the new run skips both old subtasks\' replayed commits and commits its own lower ids', async () => {
    const table = await createTable('seq integer NOT NULL');
    const id = sinkId('lower-ids-rescaled');
    const sink = new PostgresSink<{ seq: number }>({ connection: url, table, columns: ['seq'], deliveryGuarantee: 'exactly-once', sinkId: id });
    const states: unknown[] = [];
    const pending: unknown[] = [];
    for (const subtask of [0, 1]) {
      const writer = await sink.createWriter(context(subtask, 2), undefined);
      writer.write({ seq: subtask }, 0);
      const committable = await writer.prepareCommit(9);
      states.push(JSON.parse(JSON.stringify(writer.snapshotState!())));
      pending.push(JSON.parse(JSON.stringify(committable)));
      await writer.commit([committable]);
      await writer.close();
    }

    const restored = await sink.createWriter(context(0, 1), states);
    await restored.commit(pending);
    assert.equal(statusOf(restored).commitsSkipped, 2);
    restored.write({ seq: 10 }, 0);
    await restored.commit([await restored.prepareCommit(1)]);
    assert.deepEqual((await admin.query(`SELECT seq FROM ${table} ORDER BY seq`)).rows.map((r) => r.seq), [0, 1, 10]);
    assert.equal(statusOf(restored).commitsApplied, 1);
    await restored.close();
  });

  it('upgrades a commit table without runs: a committable of an old checkpoint (no run) is still checked against its old row', async () => {
    const table = await createTable('seq integer NOT NULL');
    const commitTable = `sluice_test_commits_${process.pid}_${++tableCounter}`;
    tables.push(commitTable);
    await admin.query(`DROP TABLE IF EXISTS ${commitTable}`);
    await admin.query(
      `CREATE TABLE ${commitTable} (sink_id text NOT NULL, subtask integer NOT NULL, checkpoint_id bigint NOT NULL,
         committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (sink_id, subtask))`,
    );
    const id = sinkId('legacy');
    await admin.query(`INSERT INTO ${commitTable} (sink_id, subtask, checkpoint_id) VALUES ($1, 0, 3)`, [id]);
    const sink = new PostgresSink<{ seq: number }>({ connection: url, table, columns: ['seq'], deliveryGuarantee: 'exactly-once', sinkId: id, commitTable });

    const writer = await sink.createWriter(context(), [{ lastCheckpointId: 4 }]);
    // Pending commits of a checkpoint taken before runs were recorded: 3 was committed, 4 was not.
    await writer.commit([{ subtask: 0, checkpointId: 3, rows: [[3]] }, { subtask: 0, checkpointId: 4, rows: [[4]] }]);
    writer.write({ seq: 11 }, 0);
    await writer.commit([await writer.prepareCommit(1)]);
    assert.deepEqual([statusOf(writer).commitsApplied, statusOf(writer).commitsSkipped], [2, 1]);
    await writer.close();
    assert.deepEqual((await admin.query(`SELECT seq FROM ${table} ORDER BY seq`)).rows.map((r) => r.seq), [4, 11]);

    const key = await admin.query(`SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, [commitTable]);
    assert.deepEqual(key.rows, [{ definition: 'PRIMARY KEY (sink_id, run_id, subtask)' }]);
    const rows = await admin.query(`SELECT run_id, checkpoint_id::int AS id FROM ${commitTable} ORDER BY checkpoint_id`);
    assert.deepEqual(rows.rows.map((r) => [r.run_id === '' ? 'legacy' : 'run', r.id]), [['run', 1], ['legacy', 4]]);
  });
});

// ---- a job crashing between a checkpoint's completion and the commit ---------------------

interface Ev {
  readonly seq: number;
  readonly ts: number;
}
const EVENTS: Ev[] = Array.from({ length: 12 }, (_, i) => ({ seq: i, ts: i }));

/** Wraps the sink: the first commit after `crashAt` is set fails before or after the real commit, as a process dying there. */
class CrashingCommitSink<T> implements Sink<T> {
  readonly name: string;
  crashAt: 'before-commit' | 'after-commit' | undefined;
  crashed = false;
  readonly writers: SinkWriter<T>[] = [];

  constructor(private readonly inner: Sink<T>) {
    this.name = inner.name;
  }

  async createWriter(ctx: SinkWriterContext, state: unknown): Promise<SinkWriter<T>> {
    const writer = await this.inner.createWriter(ctx, state);
    this.writers.push(writer);
    return {
      write: (v, ts) => writer.write(v, ts),
      prepareCommit: (id) => writer.prepareCommit(id),
      snapshotState: () => writer.snapshotState?.(),
      commit: async (committables) => {
        const crashAt = this.crashed ? undefined : this.crashAt;
        if (crashAt === 'before-commit') {
          this.crashed = true;
          throw new Error('injected crash before the commit');
        }
        await writer.commit(committables);
        if (crashAt === 'after-commit') {
          this.crashed = true;
          throw new Error('injected crash after the commit');
        }
      },
      close: () => writer.close(),
    };
  }
}

function executorOptions(storage: CheckpointStorage, extra: Partial<EmbeddedExecutorOptions> = {}): EmbeddedExecutorOptions {
  return {
    jobName: 'postgres-exactly-once',
    properties: {},
    clock: SystemClock.INSTANCE,
    logger: new InMemoryLogger(),
    stateBackend: 'memory',
    checkpointStorage: storage,
    deadLetters: new InMemoryDeadLetterOutput(),
    checkpointIntervalMs: 10,
    ...extra,
  };
}

function buildJob(source: GatedSource<Ev>, sink: Sink<Ev>, sinkParallelism = 1): StreamExecutionEnvironment {
  const env = new StreamExecutionEnvironment().setParallelism(1).setAutoWatermarkInterval(0);
  env
    .fromSource(source, WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.ts), 'events')
    .uid('src')
    .sinkTo(sink)
    .uid('sink')
    .setParallelism(sinkParallelism);
  return env;
}

/** Rows per seq in the table: which of 0..n-1 are missing and which are there more than once. */
async function lostAndDoubled(table: string, n: number): Promise<{ lost: number[]; doubled: number[]; rows: number }> {
  const counts = new Map<number, number>();
  const rows = (await admin.query(`SELECT seq FROM ${table}`)).rows as Array<{ seq: number }>;
  for (const { seq } of rows) counts.set(seq, (counts.get(seq) ?? 0) + 1);
  const lost = Array.from({ length: n }, (_, i) => i).filter((i) => !counts.has(i));
  const doubled = [...counts].filter(([, c]) => c > 1).map(([seq]) => seq);
  return { lost, doubled, rows: rows.length };
}

describe('exactly-once job: a crash between checkpoint completion and commit', () => {
  for (const crashAt of ['before-commit', 'after-commit'] as const) {
    it(`restored from the latest checkpoint, loses and doubles no row (crash ${crashAt.replace('-', ' the ')})`, async () => {
      const table = await createTable('seq integer NOT NULL, payload text'); // no key: doubles would show
      const storage = new InMemoryCheckpointStorage();
      const options: PostgresSinkOptions<Ev> = {
        connection: url,
        table,
        columns: ['seq', 'payload'],
        toRow: (e) => ({ seq: e.seq, payload: `event ${e.seq}` }),
        deliveryGuarantee: 'exactly-once',
        sinkId: sinkId(`job-${crashAt}`),
        batchSize: 3,
      };

      // 1. Five records committed by a checkpoint; then the crash at the next commit.
      const sink = new CrashingCommitSink(new PostgresSink<Ev>(options));
      const first = new GatedSource<Ev>(EVENTS);
      const executor = await EmbeddedExecutor.create(buildJob(first, sink), executorOptions(storage));
      first.release(5);
      const running = executor.run();
      await waitFor('the first 5 rows committed', 30_000, async () => (await count(table)) === 5);
      sink.crashAt = crashAt;
      first.release(3);
      await assert.rejects(running, new RegExp(`injected crash ${crashAt.replace('-', ' the ')}`));
      const atCrash = await count(table);
      if (crashAt === 'before-commit') assert.equal(atCrash, 5, 'the crashed commit wrote nothing');
      else assert.ok(atCrash > 5 && atCrash <= 8, `the crashed commit had written its rows (${atCrash})`);

      // 2. Restore from the latest completed checkpoint: its pending rows are committed again.
      const ids = await storage.listCompleted();
      const latest = ids[ids.length - 1]!;
      const restoredSink = new CrashingCommitSink(new PostgresSink<Ev>(options));
      const second = new GatedSource<Ev>(EVENTS);
      second.releaseAllAndEnd();
      const restored = await EmbeddedExecutor.create(buildJob(second, restoredSink), executorOptions(storage, { restore: { storage, checkpointId: latest } }));
      const result = await restored.run();
      assert.equal(result.state, 'finished');

      // 3. Every event exactly once.
      assert.deepEqual(await lostAndDoubled(table, EVENTS.length), { lost: [], doubled: [], rows: EVENTS.length });
      const skipped = restoredSink.writers.reduce((n, w) => n + statusOf(w).commitsSkipped, 0);
      if (crashAt === 'after-commit') assert.ok(skipped >= 1, 'the restored job was handed the committed rows again and skipped them');
      else assert.equal(skipped, 0);
    });
  }
});

describe('exactly-once job: restored with fewer sink subtasks', () => {
  // The restored subtask 0 is handed the pending rows of old subtasks 0 and 1 for the same
  // checkpoint: each must be checked against its own subtask's record, or one would be skipped.
  it('commits the pending rows of both old subtasks, under their own subtask, and loses and doubles none', async () => {
    const table = await createTable('seq integer NOT NULL, payload text');
    const storage = new InMemoryCheckpointStorage();
    const options: PostgresSinkOptions<Ev> = {
      connection: url,
      table,
      columns: ['seq', 'payload'],
      toRow: (e) => ({ seq: e.seq, payload: `event ${e.seq}` }),
      deliveryGuarantee: 'exactly-once',
      sinkId: sinkId('rescale'),
    };
    const sink = new CrashingCommitSink(new PostgresSink<Ev>(options));
    const first = new GatedSource<Ev>(EVENTS);
    const executor = await EmbeddedExecutor.create(buildJob(first, sink, 2), executorOptions(storage));
    first.release(4);
    const running = executor.run();
    await waitFor('the first 4 rows committed', 30_000, async () => (await count(table)) === 4);
    sink.crashAt = 'before-commit';
    first.release(4);
    await assert.rejects(running, /injected crash before the commit/);
    assert.ok((await count(table)) < 8, 'some rows of the crashed checkpoint are not committed');
    const recorded = await admin.query('SELECT subtask FROM sluice_sink_commits WHERE sink_id = $1 ORDER BY subtask', [options.sinkId]);
    assert.deepEqual(recorded.rows.map((r) => r.subtask), [0, 1], 'both sink subtasks committed rows before the crash');

    const ids = await storage.listCompleted();
    const second = new GatedSource<Ev>(EVENTS);
    second.releaseAllAndEnd();
    const restored = await EmbeddedExecutor.create(buildJob(second, new PostgresSink<Ev>(options), 1), executorOptions(storage, { restore: { storage, checkpointId: ids[ids.length - 1]! } }));
    assert.equal((await restored.run()).state, 'finished');
    assert.deepEqual(await lostAndDoubled(table, EVENTS.length), { lost: [], doubled: [], rows: EVENTS.length });
  });
});

describe('at-least-once job: a failure and a restore', () => {
  it('replays rows after the failure, and the upsert leaves each key once with its value', async () => {
    const table = await createTable('seq integer PRIMARY KEY, payload text');
    const storage = new InMemoryCheckpointStorage();
    const options: PostgresSinkOptions<Ev> = { connection: url, table, columns: ['seq', 'payload'], keyColumns: ['seq'], toRow: (e) => ({ seq: e.seq, payload: `event ${e.seq}` }) };
    const first = new GatedSource<Ev>(EVENTS);
    const executor = await EmbeddedExecutor.create(buildJob(first, new PostgresSink<Ev>(options)), executorOptions(storage));
    first.release(5);
    const running = executor.run();
    await waitFor('5 rows flushed by a checkpoint', 30_000, async () => (await count(table)) === 5 && (await storage.listCompleted()).length > 0);
    first.failAt = 8;
    first.release(7);
    await assert.rejects(running, /injected failure before record 8/);

    const ids = await storage.listCompleted();
    const second = new GatedSource<Ev>(EVENTS);
    second.releaseAllAndEnd();
    const restored = await EmbeddedExecutor.create(buildJob(second, new PostgresSink<Ev>(options)), executorOptions(storage, { restore: { storage, checkpointId: ids[ids.length - 1]! } }));
    assert.equal((await restored.run()).state, 'finished');
    assert.deepEqual(await lostAndDoubled(table, EVENTS.length), { lost: [], doubled: [], rows: EVENTS.length });
  });
});

// ---- errors that name the connector and the setting -------------------------------------

describe('clear errors', () => {
  const base = (table: string): PostgresSinkOptions<Record<string, unknown>> => ({ connection: url, table, columns: ['id', 'name'], keyColumns: ['id'], name: 'orders' });

  it('an unreachable server names the connection setting', async () => {
    const sink = new PostgresSink({ ...base('t'), connection: 'postgres://sluice:sluice@127.0.0.1:1/sluice', connectTimeoutMs: 5000 });
    await assert.rejects(sink.createWriter(context(), undefined), /PostgreSQL sink "orders": server 127\.0\.0\.1:1\/sluice unreachable \(setting connection\)/);
  });

  it('a wrong password is refused, naming the user and the connection setting', async () => {
    const wrong = new URL(url);
    wrong.password = 'not-the-password';
    const sink = new PostgresSink({ ...base('t'), connection: wrong.toString() });
    await assert.rejects(sink.createWriter(context(), undefined), /PostgreSQL sink "orders": .* refused user "sluice": password authentication failed .*setting connection/);
  });

  it('a missing database names the connection setting', async () => {
    const other = new URL(url);
    other.pathname = '/no_such_database';
    const sink = new PostgresSink({ ...base('t'), connection: other.toString() });
    await assert.rejects(sink.createWriter(context(), undefined), /PostgreSQL sink "orders": database "no_such_database" does not exist .*setting connection/);
  });

  it('a missing table names the table setting', async () => {
    const sink = new PostgresSink(base('no_such_table'));
    await assert.rejects(sink.createWriter(context(), undefined), /PostgreSQL sink "orders": table no_such_table does not exist .*\(setting table/);
  });

  it('a column the table lacks names the columns setting and lists the real ones', async () => {
    const table = await createTable('id integer PRIMARY KEY, name text');
    const sink = new PostgresSink({ ...base(table), columns: ['id', 'nmae'] });
    await assert.rejects(sink.createWriter(context(), undefined), /PostgreSQL sink "orders": table \S+ has no column "nmae" \(setting columns; its columns: id, name\)/);
  });

  it('key columns without a unique constraint name the keyColumns setting', async () => {
    const table = await createTable('id integer, name text');
    const sink = new PostgresSink(base(table));
    await assert.rejects(sink.createWriter(context(), undefined), /PostgreSQL sink "orders": table \S+ has no primary key or unique constraint on exactly \(id\) \(setting keyColumns\)/);
  });

  it('at-least-once without key columns is refused at construction', () => {
    assert.throws(() => new PostgresSink({ connection: url, table: 't', columns: ['a'] }), /keyColumns: are required for at-least-once/);
  });
});
