// The MySQL sink against a real MariaDB server (scripts/services.sh start mariadb): batched,
// idempotent upserts; values of each kind as the server stores them; exactly-once commits that a
// replay does not repeat, and that a later run numbering its checkpoints lower does not mistake
// for replays; jobs that fail between writing and the checkpoint's completion, or between a
// checkpoint's completion and its commit (before and after the transaction), restored, with lost
// and doubled rows counted; rows the server refuses, named by column and row; and the errors of
// wrong settings.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type Connection } from 'mysql2/promise';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../../../shared/api/index.ts';
import type { Sink, SinkWriter, SinkWriterContext } from '../../../shared/api/connectors.ts';
import { SystemClock } from '../../../shared/clock.ts';
import { InMemoryLogger } from '../../../shared/logging.ts';
import { InMemoryCheckpointStorage, type CheckpointStorage } from '../../../shared/checkpoint/checkpoint-storage.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';
import { InMemoryDeadLetterOutput } from '../../runtime/dead-letter.ts';
import { EmbeddedExecutor, type EmbeddedExecutorOptions } from '../../runtime/embedded-executor.ts';
import { GatedSource } from '../../testing/gated-source.ts';
import { MysqlSink, type MysqlCommittable, type MysqlSinkOptions, type MysqlSinkWriterStatus } from './index.ts';
import { requireMysql } from './testing-mysql-server.ts';

let url: string;
let admin: Connection;
const tables: string[] = [];
let tableCounter = 0;

before(async () => {
  url = await requireMysql();
  admin = await createConnection({ uri: url, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true });
});

after(async () => {
  for (const writer of unclosed) await writer.close();
  for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`);
  await admin.query('DELETE FROM sluice_sink_commits WHERE sink_id LIKE ?', [`test-${process.pid}-%`]).catch(() => {});
  await admin.end();
});

/** A new InnoDB table `name (definition)` for one test; dropped at the end. */
async function createTable(definition: string, engine = 'InnoDB'): Promise<string> {
  const name = `sluice_test_${process.pid}_${++tableCounter}`;
  tables.push(name);
  await admin.query(`DROP TABLE IF EXISTS ${name}`);
  await admin.query(`CREATE TABLE ${name} (${definition}) ENGINE = ${engine}`);
  return name;
}

function sinkId(what: string): string {
  return `test-${process.pid}-${what}`;
}

function context(subtaskIndex = 0, parallelism = 1): SinkWriterContext {
  return { subtaskIndex, parallelism, jobName: 'mysql-sink-test', job: { id: 'mysql-sink-test', submittedAtMs: 0 }, now: () => Date.now() };
}

/** Writers a failed assertion left open, closed at the end: an open connection would keep the test process alive. */
const unclosed = new Set<SinkWriter<unknown>>();

async function openWriter<T>(sink: Sink<T>, restoredState: unknown): Promise<SinkWriter<T>> {
  const writer = await sink.createWriter(context(), restoredState);
  const close = writer.close.bind(writer);
  unclosed.add(writer as SinkWriter<unknown>);
  writer.close = async () => {
    unclosed.delete(writer as SinkWriter<unknown>);
    await close();
  };
  return writer;
}

function statusOf(writer: SinkWriter<unknown>): MysqlSinkWriterStatus {
  return (writer as unknown as { status(): MysqlSinkWriterStatus }).status();
}

async function select<R>(sql: string, values: unknown[] = []): Promise<R[]> {
  const [rows] = await admin.query(sql, values);
  return rows as R[];
}

async function count(table: string): Promise<number> {
  return Number((await select<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
}

async function seqs(table: string): Promise<number[]> {
  return (await select<{ seq: number }>(`SELECT seq FROM ${table} ORDER BY seq`)).map((r) => r.seq);
}

interface Account {
  id: number;
  name: string;
  balance: number;
}

describe('at-least-once: batched upserts', () => {
  it('writes rows in statements of batchSize rows, the last value of each key winning, and a replay changes nothing', async () => {
    const table = await createTable('id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, balance INT');
    const sink = new MysqlSink<Account>({ connection: url, table, columns: ['id', 'name', 'balance'], keyColumns: ['id'], batchSize: 4, name: 'accounts' });
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

    const writer = await openWriter(sink, undefined);
    for (const r of records) writer.write(r, 0);
    assert.equal(await writer.prepareCommit(1), undefined, 'at-least-once keeps nothing in the checkpoint');
    const status = statusOf(writer);
    assert.equal(status.rowsWritten, 10);
    assert.equal(status.statementsExecuted, 3, '10 rows in statements of at most 4');
    assert.deepEqual(await select(`SELECT id, name, balance FROM ${table} ORDER BY id`), expected);
    await writer.close();

    // A replay after a failure writes the same records again: the table stays the same.
    const replay = await openWriter(sink, undefined);
    for (const r of records) replay.write(r, 0);
    await replay.prepareCommit(2);
    await replay.close();
    assert.deepEqual(await select(`SELECT id, name, balance FROM ${table} ORDER BY id`), expected);
  });

  it('maps records with toRow, and writes dates (UTC), bigints, bytes, JSON, quotes and backslashes as the server stores them', async () => {
    const table = await createTable(
      'k VARCHAR(20) PRIMARY KEY, at DATETIME(3), ts TIMESTAMP(3) NULL, big BIGINT, bytes VARBINARY(8), doc JSON, note TEXT, missing TEXT',
    );
    const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    const note = "it's a \\ path\n\u0000 — ünïcödé 🙂";
    const sink = new MysqlSink<{ key: string }>({
      connection: url,
      table,
      columns: ['k', 'at', 'ts', 'big', 'bytes', 'doc', 'note', 'missing'],
      keyColumns: ['k'],
      toRow: (r) => ({ k: r.key, at, ts: at, big: 2n ** 62n + 1n, bytes: Uint8Array.of(1, 2, 255), doc: { a: [1, 'x"y'] }, note }),
    });
    const writer = await openWriter(sink, undefined);
    writer.write({ key: 'x' }, 0);
    await writer.prepareCommit(1);
    await writer.close();
    const [row] = await select<Record<string, unknown>>(
      `SELECT k, at, ts, CAST(big AS CHAR) AS big, HEX(bytes) AS bytes, JSON_UNQUOTE(JSON_EXTRACT(doc, '$.a[1]')) AS second, note, missing FROM ${table}`,
    );
    assert.deepEqual(row, { k: 'x', at, ts: at, big: (2n ** 62n + 1n).toString(), bytes: '0102FF', second: 'x"y', note, missing: null });
  });

  it('connects with fields instead of a URL, the password given by a function (as an RDS IAM token would be)', async () => {
    const table = await createTable('id INT PRIMARY KEY');
    const parsed = new URL(url);
    let passwordCalls = 0;
    const sink = new MysqlSink<{ id: number }>({
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
    const writer = await openWriter(sink, undefined);
    writer.write({ id: 7 }, 0);
    await writer.prepareCommit(1);
    await writer.close();
    assert.equal(passwordCalls, 1);
    assert.deepEqual(await select(`SELECT id FROM ${table}`), [{ id: 7 }]);
  });
});

describe('bad records: the error names the field', () => {
  it('refuses a row with a field that is not a column, without its key, or with a value MySQL cannot hold', async () => {
    const table = await createTable('id INT PRIMARY KEY, name VARCHAR(5), balance DOUBLE');
    const sink = new MysqlSink<Record<string, unknown>>({ connection: url, table, columns: ['id', 'name', 'balance'], keyColumns: ['id'], name: 'strict' });
    const writer = await openWriter(sink, undefined);
    try {
      assert.throws(() => writer.write({ id: 1, name: 'a', nmae: 'typo' }, 0), /MySQL sink "strict": the row has field "nmae", which is not in setting columns/);
      assert.throws(() => writer.write({ name: 'a' }, 0), /MySQL sink "strict": key column "id" is null or missing/);
      assert.throws(() => writer.write({ id: 2, balance: Number.NaN }, 0), /MySQL sink "strict": field "balance" cannot be written: NaN is not a number MySQL can store: \{"id":2,"balance":null\}/);
    } finally {
      await writer.close();
    }
  });

  it('a value the server refuses fails the write, naming the column and showing the row', async () => {
    const table = await createTable('id INT PRIMARY KEY, name VARCHAR(5) NOT NULL, balance INT');
    const sink = new MysqlSink<Record<string, unknown>>({ connection: url, table, columns: ['id', 'name', 'balance'], keyColumns: ['id'], name: 'accounts' });

    const wrongType = await openWriter(sink, undefined);
    wrongType.write({ id: 1, name: 'a', balance: 1 }, 0);
    wrongType.write({ id: 2, name: 'b', balance: 'lots' }, 0);
    await assert.rejects(
      async () => wrongType.prepareCommit(1),
      (error: Error) => {
        assert.equal(error.name, 'UserFunctionError');
        assert.match(error.message, /MySQL sink "accounts": writing rows to \S+: the server refused the value of column "balance" in a row: Incorrect integer value: 'lots' for column .*balance.* at row 2: \{ id: 2, name: 'b', balance: 'lots' \}/);
        return true;
      },
    );
    await wrongType.close();

    const tooLong = await openWriter(sink, undefined);
    tooLong.write({ id: 3, name: 'far too long', balance: 1 }, 0);
    await assert.rejects(async () => tooLong.prepareCommit(1), /the server refused the value of column "name" in a row: Data too long for column 'name' at row 1: \{ id: 3, name: 'far too long', balance: 1 \}/);
    await tooLong.close();

    const missing = await openWriter(sink, undefined);
    missing.write({ id: 4, name: 'ok', balance: 1 }, 0);
    missing.write({ id: 5, balance: 1 }, 0);
    await assert.rejects(async () => missing.prepareCommit(1), /the server refused the value of column "name" in a row: Column 'name' cannot be null: \{ id: 5, name: NULL, balance: 1 \}/);
    await missing.close();
    assert.deepEqual(await select(`SELECT id FROM ${table} ORDER BY id`), [], 'no statement with a refused row wrote anything');
  });
});

describe('exactly-once: commits recorded with the checkpoint id', () => {
  it('shows nothing before the commit, writes a committable once, and skips it when it is handed again (also to a restored writer)', async () => {
    const table = await createTable('seq INT NOT NULL, payload TEXT'); // no key: a second write would double rows
    const id = sinkId('replay');
    const options: MysqlSinkOptions<{ seq: number }> = {
      connection: url,
      table,
      columns: ['seq', 'payload'],
      toRow: (r) => ({ seq: r.seq, payload: `p${r.seq}` }),
      deliveryGuarantee: 'exactly-once',
      sinkId: id,
    };
    const sink = new MysqlSink(options);
    const writer = await openWriter(sink, undefined);
    for (let seq = 0; seq < 5; seq++) writer.write({ seq }, 0);
    const first = (await writer.prepareCommit(1)) as MysqlCommittable;
    assert.equal(first.rows.length, 5);
    assert.equal(await count(table), 0, 'nothing is visible before the checkpoint completes');

    await writer.commit([first]);
    assert.equal(await count(table), 5);
    await writer.commit([first]);
    assert.equal(await count(table), 5, 'the same committable again writes nothing');
    assert.equal(statusOf(writer).commitsSkipped, 1);
    assert.deepEqual(await select('SELECT checkpoint_id AS id FROM sluice_sink_commits WHERE sink_id = ? AND subtask = 0', [id]), [{ id: '1' }]);

    for (let seq = 5; seq < 8; seq++) writer.write({ seq }, 0);
    const second = (await writer.prepareCommit(2)) as MysqlCommittable;
    const state = writer.snapshotState!();
    await writer.close();

    // A restored writer is handed both pending committables (the first was committed already).
    const restored = await openWriter(sink, [state]);
    await restored.commit([JSON.parse(JSON.stringify(first)), JSON.parse(JSON.stringify(second))]);
    await restored.commit([second]);
    assert.equal(statusOf(restored).commitsApplied, 1);
    assert.equal(statusOf(restored).commitsSkipped, 2);
    await restored.close();
    assert.deepEqual(await seqs(table), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('an older checkpoint handed after a newer one is skipped; a fresh start (no restored state) commits from checkpoint 1 again', async () => {
    const table = await createTable('seq INT NOT NULL');
    const id = sinkId('fresh');
    const sink = new MysqlSink<{ seq: number }>({ connection: url, table, columns: ['seq'], deliveryGuarantee: 'exactly-once', sinkId: id });
    const writer = await openWriter(sink, undefined);
    writer.write({ seq: 1 }, 0);
    const c1 = await writer.prepareCommit(1);
    writer.write({ seq: 2 }, 0);
    const c2 = await writer.prepareCommit(2);
    await writer.commit([c2]);
    await writer.commit([c1]);
    assert.deepEqual(await seqs(table), [2]);
    await writer.close();

    const fresh = await openWriter(sink, undefined);
    fresh.write({ seq: 3 }, 0);
    await fresh.commit([await fresh.prepareCommit(1)]);
    await fresh.close();
    assert.deepEqual(await seqs(table), [2, 3]);
  });

  it('the end of input (no checkpoint id yet) is committed under the id after the last one prepared', async () => {
    const table = await createTable('seq INT NOT NULL');
    const sink = new MysqlSink<{ seq: number }>({ connection: url, table, columns: ['seq'], deliveryGuarantee: 'exactly-once', sinkId: sinkId('end') });
    const writer = await openWriter(sink, [{ lastCheckpointId: 6 }]);
    writer.write({ seq: 1 }, 0);
    const end = (await writer.prepareCommit(Number.MAX_SAFE_INTEGER)) as MysqlCommittable;
    assert.equal(end.checkpointId, 7);
    await writer.commit([end]);
    await writer.close();
    assert.equal(await count(table), 1);
  });

  it("a new run restored from the first run's state commits its own checkpoints 1, 2, … once, and skips the first run's replayed commit", async () => {
    const table = await createTable('seq INT NOT NULL'); // no key: a second write would double rows
    const id = sinkId('lower-ids');
    const sink = new MysqlSink<{ seq: number }>({ connection: url, table, columns: ['seq'], deliveryGuarantee: 'exactly-once', sinkId: id });

    const first = await openWriter(sink, undefined);
    const firstCommits: MysqlCommittable[] = [];
    for (let checkpoint = 5; checkpoint <= 7; checkpoint++) {
      first.write({ seq: checkpoint }, 0);
      firstCommits.push((await first.prepareCommit(checkpoint)) as MysqlCommittable);
    }
    const snapshotState = JSON.parse(JSON.stringify(first.snapshotState!()));
    const pendingInSnapshot = JSON.parse(JSON.stringify(firstCommits[2]));
    await first.commit(firstCommits);
    await first.close();

    const second = await openWriter(sink, [snapshotState]);
    await second.commit([pendingInSnapshot]); // a restore commits the snapshot's pending rows again
    assert.equal(statusOf(second).commitsSkipped, 1, "the first run's checkpoint 7 was committed already");
    for (let checkpoint = 1; checkpoint <= 2; checkpoint++) {
      second.write({ seq: 100 + checkpoint }, 0);
      await second.commit([await second.prepareCommit(checkpoint)]);
    }
    await second.close();
    assert.deepEqual(await seqs(table), [5, 6, 7, 101, 102]);
    assert.deepEqual(
      (await select<{ id: string }>('SELECT checkpoint_id AS id FROM sluice_sink_commits WHERE sink_id = ? ORDER BY checkpoint_id', [id])).map((r) => r.id),
      ['2', '7'],
      'one row per run and subtask',
    );
  });
});

// ---- jobs failing and restored -------------------------------------------------------------

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
    jobName: 'mysql-exactly-once',
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
  const rows = await select<{ seq: number }>(`SELECT seq FROM ${table}`);
  for (const { seq } of rows) counts.set(seq, (counts.get(seq) ?? 0) + 1);
  const lost = Array.from({ length: n }, (_, i) => i).filter((i) => !counts.has(i));
  const doubled = [...counts].filter(([, c]) => c > 1).map(([seq]) => seq);
  return { lost, doubled, rows: rows.length };
}

/** Runs the job to its end, restored from the latest completed checkpoint in `storage`. */
async function restoreAndFinish(storage: InMemoryCheckpointStorage, sink: Sink<Ev>, sinkParallelism = 1): Promise<void> {
  const ids = await storage.listCompleted();
  const source = new GatedSource<Ev>(EVENTS);
  source.releaseAllAndEnd();
  const restored = await EmbeddedExecutor.create(buildJob(source, sink, sinkParallelism), executorOptions(storage, { restore: { storage, checkpointId: ids[ids.length - 1]! } }));
  assert.equal((await restored.run()).state, 'finished');
}

function exactlyOnceOptions(table: string, what: string): MysqlSinkOptions<Ev> {
  return {
    connection: url,
    table,
    columns: ['seq', 'payload'],
    toRow: (e) => ({ seq: e.seq, payload: `event ${e.seq}` }),
    deliveryGuarantee: 'exactly-once',
    sinkId: sinkId(what),
    batchSize: 3,
  };
}

describe('exactly-once job: a failure between writing rows and the checkpoint completing', () => {
  it('restored from the latest checkpoint, the rows written since are neither visible nor lost, and none is doubled', async () => {
    const table = await createTable('seq INT NOT NULL, payload TEXT'); // no key: doubles would show
    const storage = new InMemoryCheckpointStorage();
    const options = exactlyOnceOptions(table, 'job-failure');
    const first = new GatedSource<Ev>(EVENTS);
    const executor = await EmbeddedExecutor.create(buildJob(first, new MysqlSink<Ev>(options)), executorOptions(storage));
    first.release(5);
    const running = executor.run();
    await waitFor('the first 5 rows committed', 30_000, async () => (await count(table)) === 5);
    first.failAt = 8; // records 5..7 reach the writer, then the job fails before their checkpoint
    first.release(7);
    await assert.rejects(running, /injected failure before record 8/);
    assert.equal(await count(table), 5, 'rows of no completed checkpoint are not visible');

    await restoreAndFinish(storage, new MysqlSink<Ev>(options));
    assert.deepEqual(await lostAndDoubled(table, EVENTS.length), { lost: [], doubled: [], rows: EVENTS.length });
  });
});

describe('exactly-once job: a crash between checkpoint completion and commit', () => {
  for (const crashAt of ['before-commit', 'after-commit'] as const) {
    it(`restored from the latest checkpoint, loses and doubles no row (crash ${crashAt.replace('-', ' the ')})`, async () => {
      const table = await createTable('seq INT NOT NULL, payload TEXT'); // no key: doubles would show
      const storage = new InMemoryCheckpointStorage();
      const options = exactlyOnceOptions(table, `job-${crashAt}`);

      // 1. Five records committed by a checkpoint; then the crash at the next commit.
      const sink = new CrashingCommitSink(new MysqlSink<Ev>(options));
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

      // 2. Restore from the latest completed checkpoint: its pending rows are handed to commit again.
      const restoredSink = new CrashingCommitSink(new MysqlSink<Ev>(options));
      await restoreAndFinish(storage, restoredSink);

      // 3. Every event exactly once.
      assert.deepEqual(await lostAndDoubled(table, EVENTS.length), { lost: [], doubled: [], rows: EVENTS.length });
      const skipped = restoredSink.writers.reduce((n, w) => n + statusOf(w).commitsSkipped, 0);
      if (crashAt === 'after-commit') assert.ok(skipped >= 1, 'the restored job was handed the committed rows again and skipped them');
      else assert.equal(skipped, 0);
    });
  }

  it('restored with fewer sink subtasks, commits the pending rows of both old subtasks under their own subtask, and loses and doubles none', async () => {
    const table = await createTable('seq INT NOT NULL, payload TEXT');
    const storage = new InMemoryCheckpointStorage();
    const options = exactlyOnceOptions(table, 'rescale');
    const sink = new CrashingCommitSink(new MysqlSink<Ev>(options));
    const first = new GatedSource<Ev>(EVENTS);
    const executor = await EmbeddedExecutor.create(buildJob(first, sink, 2), executorOptions(storage));
    first.release(4);
    const running = executor.run();
    await waitFor('the first 4 rows committed', 30_000, async () => (await count(table)) === 4);
    sink.crashAt = 'before-commit';
    first.release(4);
    await assert.rejects(running, /injected crash before the commit/);
    const recorded = await select<{ subtask: number }>('SELECT subtask FROM sluice_sink_commits WHERE sink_id = ? ORDER BY subtask', [options.sinkId]);
    assert.deepEqual(recorded.map((r) => r.subtask), [0, 1], 'both sink subtasks committed rows before the crash');

    await restoreAndFinish(storage, new MysqlSink<Ev>(options), 1);
    assert.deepEqual(await lostAndDoubled(table, EVENTS.length), { lost: [], doubled: [], rows: EVENTS.length });
  });
});

describe('at-least-once job: a failure and a restore', () => {
  it('replays rows after the failure, and the upsert leaves each key once with its value', async () => {
    const table = await createTable('seq INT PRIMARY KEY, payload TEXT');
    const storage = new InMemoryCheckpointStorage();
    const options: MysqlSinkOptions<Ev> = { connection: url, table, columns: ['seq', 'payload'], keyColumns: ['seq'], toRow: (e) => ({ seq: e.seq, payload: `event ${e.seq}` }) };
    const first = new GatedSource<Ev>(EVENTS);
    const executor = await EmbeddedExecutor.create(buildJob(first, new MysqlSink<Ev>(options)), executorOptions(storage));
    first.release(5);
    const running = executor.run();
    await waitFor('5 rows flushed by a checkpoint', 30_000, async () => (await count(table)) === 5 && (await storage.listCompleted()).length > 0);
    first.failAt = 8;
    first.release(7);
    await assert.rejects(running, /injected failure before record 8/);

    await restoreAndFinish(storage, new MysqlSink<Ev>(options));
    assert.deepEqual(await lostAndDoubled(table, EVENTS.length), { lost: [], doubled: [], rows: EVENTS.length });
  });
});

// ---- errors that name the connector and the setting -------------------------------------

describe('clear errors', () => {
  const base = (table: string): MysqlSinkOptions<Record<string, unknown>> => ({ connection: url, table, columns: ['id', 'name'], keyColumns: ['id'], name: 'orders' });

  it('an unreachable server names the connection setting', async () => {
    const sink = new MysqlSink({ ...base('t'), connection: 'mysql://sluice:sluice@127.0.0.1:1/sluice', connectTimeoutMs: 5000 });
    await assert.rejects(sink.createWriter(context(), undefined), /MySQL sink "orders": server 127\.0\.0\.1:1\/sluice unreachable \(setting connection\)/);
  });

  it('a wrong password is refused, naming the user and the connection setting', async () => {
    const wrong = new URL(url);
    wrong.password = 'not-the-password';
    const sink = new MysqlSink({ ...base('t'), connection: wrong.toString() });
    await assert.rejects(sink.createWriter(context(), undefined), /MySQL sink "orders": .* refused user "sluice": Access denied .*setting connection/);
  });

  it('a missing database names the connection setting', async () => {
    const other = new URL(url);
    other.pathname = '/no_such_database';
    const sink = new MysqlSink({ ...base('t'), connection: other.toString() });
    await assert.rejects(sink.createWriter(context(), undefined), /MySQL sink "orders": Unknown database 'no_such_database' .*setting connection/);
  });

  it('a missing table names the table setting', async () => {
    const sink = new MysqlSink(base('no_such_table'));
    await assert.rejects(sink.createWriter(context(), undefined), /MySQL sink "orders": table no_such_table does not exist .*\(setting table/);
  });

  it('a column the table lacks names the columns setting and lists the real ones', async () => {
    const table = await createTable('id INT PRIMARY KEY, name TEXT');
    const sink = new MysqlSink({ ...base(table), columns: ['id', 'nmae'] });
    await assert.rejects(sink.createWriter(context(), undefined), /MySQL sink "orders": table \S+ has no column "nmae" \(setting columns; its columns: id, name\)/);
  });

  it('key columns without a unique index name the keyColumns setting', async () => {
    const table = await createTable('id INT, name TEXT');
    const sink = new MysqlSink(base(table));
    await assert.rejects(sink.createWriter(context(), undefined), /MySQL sink "orders": table \S+ has no primary key or unique index on exactly \(id\) \(setting keyColumns\)/);
  });

  it('exactly-once into a table without transactions (MyISAM) names the deliveryGuarantee setting', async () => {
    const table = await createTable('id INT PRIMARY KEY, name TEXT', 'MyISAM');
    const sink = new MysqlSink({ ...base(table), deliveryGuarantee: 'exactly-once' });
    await assert.rejects(sink.createWriter(context(), undefined), /MySQL sink "orders": table \S+ uses the MyISAM engine, which has no transactions.*\(setting deliveryGuarantee/);
  });

  it('at-least-once without key columns, or a URL of another database, is refused at construction', () => {
    assert.throws(() => new MysqlSink({ connection: url, table: 't', columns: ['a'] }), /keyColumns: are required for at-least-once/);
    assert.throws(() => new MysqlSink({ ...base('t'), connection: 'postgres://x@y/z' }), /connection: must be a mysql:\/\/ URL/);
  });
});
