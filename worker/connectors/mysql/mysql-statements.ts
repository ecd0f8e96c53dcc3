// The SQL the MySQL sink sends: quoted identifiers, values as SQL literals, and rows turned into
// multi-row `INSERT … ON DUPLICATE KEY UPDATE` statements (plain INSERTs for a table without key
// columns). `VALUES(col)` names the inserted value: MySQL 8 prefers a row alias, which MariaDB
// does not know, and both still take VALUES().
//
// Values become literals when a record is written (sqlLiteral), not when a statement is sent: a
// row is then an array of strings that the checkpoint keeps as it is, whose size is known, and a
// statement is a join. The session the sink opens fixes what a literal means (backslash escapes
// on, times in UTC). A statement holds at most `batchSize` rows and fits in the server's
// max_allowed_packet; rows with the same key inside one statement are reduced to the last one, in
// key order (lastRowPerKey).

import { escape } from 'mysql2';
import { lastRowPerKey } from '../common/sql-row-mapper.ts';
import type { TableName } from '../common/sql-sink-options.ts';

/** `` `name` ``, with embedded backticks doubled. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function quoteTableName(name: TableName): string {
  return name.schema === undefined ? quoteIdentifier(name.table) : `${quoteIdentifier(name.schema)}.${quoteIdentifier(name.table)}`;
}

/**
 * A field's value as a MySQL literal, for a session with backslash escapes and time_zone UTC:
 * NULL for null and undefined, numbers and bigints as digits, strings quoted, dates as UTC
 * `'YYYY-MM-DD HH:MM:SS.mmm'`, bytes as `X'…'`, other objects and arrays as JSON text. Throws
 * for what MySQL cannot hold (NaN, infinities, an invalid Date).
 */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  switch (typeof value) {
    case 'string':
    case 'bigint':
    case 'boolean':
      return escape(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${value} is not a number MySQL can store`);
      return escape(value);
    case 'object':
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new Error('an invalid Date');
        return escape(value, false, 'Z');
      }
      if (value instanceof Uint8Array) return escape(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      return escape(JSON.stringify(value));
    default:
      throw new Error(`a ${typeof value} has no SQL form`);
  }
}

/** One INSERT with the rows it writes, in order (MySQL's "at row N" counts them from 1). */
export interface MysqlStatement {
  readonly sql: string;
  readonly rows: readonly (readonly string[])[];
}

/** Builds the write statements for rows of one table. Rows are literals in `columns` order. */
export class MysqlRowStatementBuilder {
  private readonly keyIndexes: readonly number[];
  private readonly head: string;
  private readonly tail: string;

  /** `maxStatementBytes`: the server's max_allowed_packet, less room for the protocol. */
  constructor(
    table: TableName,
    columns: readonly string[],
    keyColumns: readonly string[],
    private readonly batchSize: number,
    private readonly maxStatementBytes: number,
  ) {
    this.keyIndexes = keyColumns.map((k) => columns.indexOf(k));
    this.head = `INSERT INTO ${quoteTableName(table)} (${columns.map(quoteIdentifier).join(', ')}) VALUES `;
    const updated = columns.filter((c) => !keyColumns.includes(c));
    if (keyColumns.length === 0) this.tail = '';
    // Every column is a key: a collision has nothing to change, and must not fail either.
    else if (updated.length === 0) this.tail = ` ON DUPLICATE KEY UPDATE ${quoteIdentifier(keyColumns[0]!)} = ${quoteIdentifier(keyColumns[0]!)}`;
    else this.tail = ` ON DUPLICATE KEY UPDATE ${updated.map((c) => `${quoteIdentifier(c)} = VALUES(${quoteIdentifier(c)})`).join(', ')}`;
  }

  get maxRowsPerStatement(): number {
    return this.batchSize;
  }

  /** The statements that write `rows` (in order): `batchSize` rows at most each, and no more bytes than the server takes. */
  statements(rows: readonly (readonly string[])[]): MysqlStatement[] {
    const statements: MysqlStatement[] = [];
    const fixedBytes = Buffer.byteLength(this.head) + Buffer.byteLength(this.tail);
    for (let start = 0; start < rows.length; start += this.batchSize) {
      const batch = lastRowPerKey(rows.slice(start, start + this.batchSize), this.keyIndexes);
      let tuples: string[] = [];
      let statementRows: (readonly string[])[] = [];
      let bytes = fixedBytes;
      for (const row of batch) {
        const tuple = `(${row.join(', ')})`;
        const tupleBytes = Buffer.byteLength(tuple) + 2; // and its ", "
        // A row too large on its own still goes, alone: the server's refusal names the limit.
        if (tuples.length > 0 && bytes + tupleBytes > this.maxStatementBytes) {
          statements.push({ sql: this.head + tuples.join(', ') + this.tail, rows: statementRows });
          tuples = [];
          statementRows = [];
          bytes = fixedBytes;
        }
        tuples.push(tuple);
        statementRows.push(row);
        bytes += tupleBytes;
      }
      if (tuples.length > 0) statements.push({ sql: this.head + tuples.join(', ') + this.tail, rows: statementRows });
    }
    return statements;
  }
}
