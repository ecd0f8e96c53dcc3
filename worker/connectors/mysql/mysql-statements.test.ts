// The SQL of the MySQL sink without a server: quoting, values as literals, the upsert and plain
// INSERT texts, statements cut at batchSize and at the server's packet size, one row per key in
// key order.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTableName } from '../common/sql-sink-options.ts';
import { MysqlRowStatementBuilder, quoteIdentifier, quoteTableName, sqlLiteral } from './mysql-statements.ts';

describe('identifiers', () => {
  it('quotes names with backticks, doubling embedded ones; a table may carry its database', () => {
    assert.equal(quoteIdentifier('Order `x`'), '`Order ``x```');
    assert.equal(quoteTableName(parseTableName('sales.orders')), '`sales`.`orders`');
    assert.equal(quoteTableName(parseTableName('orders')), '`orders`');
  });
});

describe('sqlLiteral', () => {
  it('writes each kind of value as the literal a session with backslash escapes and UTC reads back', () => {
    assert.equal(sqlLiteral(null), 'NULL');
    assert.equal(sqlLiteral(undefined), 'NULL');
    assert.equal(sqlLiteral(42), '42');
    assert.equal(sqlLiteral(-1.5), '-1.5');
    assert.equal(sqlLiteral(2n ** 63n - 1n), '9223372036854775807');
    assert.equal(sqlLiteral(true), 'true');
    assert.equal(sqlLiteral("it's a \\ path\n"), "'it\\'s a \\\\ path\\n'");
    assert.equal(sqlLiteral(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), "'2024-01-02 03:04:05.006'");
    assert.equal(sqlLiteral(Uint8Array.of(1, 2, 255)), "X'0102ff'");
    assert.equal(sqlLiteral(Buffer.from('hi')), "X'6869'");
    assert.equal(sqlLiteral({ a: [1, 'x'] }), `'{\\"a\\":[1,\\"x\\"]}'`);
    assert.equal(sqlLiteral([1, 2]), "'[1,2]'");
  });

  it('refuses what MySQL cannot hold, saying what it was', () => {
    assert.throws(() => sqlLiteral(Number.NaN), /NaN is not a number MySQL can store/);
    assert.throws(() => sqlLiteral(Number.POSITIVE_INFINITY), /Infinity is not a number/);
    assert.throws(() => sqlLiteral(new Date(Number.NaN)), /an invalid Date/);
    assert.throws(() => sqlLiteral(Symbol('s')), /a symbol has no SQL form/);
  });
});

describe('MysqlRowStatementBuilder', () => {
  const table = parseTableName('t');
  const big = 1 << 20;

  it('upserts on the key columns, updating the others with VALUES()', () => {
    const builder = new MysqlRowStatementBuilder(table, ['id', 'name', 'n'], ['id'], 10, big);
    const [statement] = builder.statements([['1', "'a'", '2'], ['2', "'b'", 'NULL']]);
    assert.equal(statement!.sql, "INSERT INTO `t` (`id`, `name`, `n`) VALUES (1, 'a', 2), (2, 'b', NULL) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `n` = VALUES(`n`)");
    assert.deepEqual(statement!.rows, [['1', "'a'", '2'], ['2', "'b'", 'NULL']]);
  });

  it('leaves a colliding row as it is when every column is a key, and plain INSERTs without keys', () => {
    assert.match(new MysqlRowStatementBuilder(table, ['a', 'b'], ['a', 'b'], 10, big).statements([['1', '2']])[0]!.sql, /VALUES \(1, 2\) ON DUPLICATE KEY UPDATE `a` = `a`$/);
    assert.equal(new MysqlRowStatementBuilder(table, ['a'], [], 10, big).statements([['1']])[0]!.sql, 'INSERT INTO `t` (`a`) VALUES (1)');
  });

  it('cuts statements at batchSize rows', () => {
    const builder = new MysqlRowStatementBuilder(table, ['id'], ['id'], 4, big);
    const statements = builder.statements(Array.from({ length: 10 }, (_, i) => [`${i}`]));
    assert.deepEqual(statements.map((s) => s.rows.length), [4, 4, 2]);
    assert.equal(builder.maxRowsPerStatement, 4);
  });

  it('cuts statements before they outgrow the packet size, counting bytes not characters; a row too large alone still goes alone', () => {
    const head = 'INSERT INTO `t` (`v`) VALUES ';
    const value = `'${'é'.repeat(20)}'`; // 22 characters, 42 bytes
    const rowBytes = Buffer.byteLength(`(${value}), `); // 46
    const limit = head.length + 2 * rowBytes; // two rows fit, three do not
    const statements = new MysqlRowStatementBuilder(table, ['v'], [], 100, limit).statements(Array.from({ length: 7 }, () => [value]));
    assert.deepEqual(statements.map((s) => s.rows.length), [2, 2, 2, 1]);
    for (const s of statements) assert.ok(Buffer.byteLength(s.sql) <= limit, s.sql);

    const tiny = new MysqlRowStatementBuilder(table, ['v'], [], 100, 10);
    assert.deepEqual(tiny.statements([[value], [value]]).map((s) => s.rows.length), [1, 1]);
  });

  it('keeps the last row of each key within a statement, in key order; keys repeated across statements stay in both', () => {
    const builder = new MysqlRowStatementBuilder(table, ['k', 'v'], ['k'], 4, big);
    const statements = builder.statements([["'b'", '1'], ["'a'", '2'], ["'b'", '3'], ["'c'", '4'], ["'b'", '5']]);
    assert.deepEqual(statements.map((s) => s.rows), [[["'a'", '2'], ["'b'", '3'], ["'c'", '4']], [["'b'", '5']]]);
    assert.match(statements[0]!.sql, /VALUES \('a', 2\), \('b', 3\), \('c', 4\) ON DUPLICATE KEY/);
  });
});
