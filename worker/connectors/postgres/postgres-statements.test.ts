// The SQL of the PostgreSQL sink without a server: quoting, the upsert and plain INSERT texts,
// statements cut at batchSize and at 65535 bind parameters, one row per key in key order.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTableName } from '../common/sql-sink-options.ts';
import { MAX_BIND_PARAMETERS, quoteIdentifier, quoteTableName, RowStatementBuilder } from './postgres-statements.ts';

describe('identifiers', () => {
  it('quotes names and doubles embedded quotes; a table may carry its schema', () => {
    assert.equal(quoteIdentifier('Order "x"'), '"Order ""x"""');
    assert.equal(quoteTableName(parseTableName('sales.orders')), '"sales"."orders"');
    assert.equal(quoteTableName(parseTableName('orders')), '"orders"');
  });
});

describe('RowStatementBuilder', () => {
  it('upserts on the key columns, updating the others', () => {
    const builder = new RowStatementBuilder(parseTableName('t'), ['id', 'name', 'n'], ['id'], 10, '0');
    const [statement] = builder.statements([[1, 'a', 2], [2, 'b', 3]]);
    assert.equal(statement!.text, 'INSERT INTO "t" ("id", "name", "n") VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "n" = EXCLUDED."n"');
    assert.deepEqual(statement!.values, [1, 'a', 2, 2, 'b', 3]);
  });

  it('does nothing on conflict when every column is a key, and plain INSERTs without keys', () => {
    assert.match(new RowStatementBuilder(parseTableName('t'), ['a', 'b'], ['a', 'b'], 10, '0').statements([[1, 2]])[0]!.text, /ON CONFLICT \("a", "b"\) DO NOTHING$/);
    assert.equal(new RowStatementBuilder(parseTableName('t'), ['a'], [], 10, '0').statements([[1]])[0]!.text, 'INSERT INTO "t" ("a") VALUES ($1)');
  });

  it('cuts statements at batchSize rows; full statements are named (prepared once), the rest are not', () => {
    const builder = new RowStatementBuilder(parseTableName('t'), ['id'], ['id'], 4, '3');
    const statements = builder.statements(Array.from({ length: 10 }, (_, i) => [i]));
    assert.deepEqual(statements.map((s) => s.values.length), [4, 4, 2]);
    assert.deepEqual(statements.map((s) => s.name), ['sluice_3_4', 'sluice_3_4', undefined]);
  });

  it('never exceeds 65535 bind parameters', () => {
    const columns = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const builder = new RowStatementBuilder(parseTableName('t'), columns, [], 10_000, '0');
    assert.equal(builder.maxRowsPerStatement, Math.floor(MAX_BIND_PARAMETERS / 100));
  });

  it('keeps the last row of each key within a statement, in key order; keys repeated across statements stay in both', () => {
    const builder = new RowStatementBuilder(parseTableName('t'), ['k', 'v'], ['k'], 4, '0');
    const statements = builder.statements([['b', 1], ['a', 2], ['b', 3], ['c', 4], ['b', 5]]);
    assert.deepEqual(statements.map((s) => s.values), [['a', 2, 'b', 3, 'c', 4], ['b', 5]]);
    assert.match(statements[0]!.text, /VALUES \(\$1, \$2\), \(\$3, \$4\), \(\$5, \$6\) ON CONFLICT/);
  });
});
