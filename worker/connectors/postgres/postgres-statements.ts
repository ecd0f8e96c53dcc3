// The SQL the PostgreSQL sink sends: quoted identifiers, and rows turned into multi-row
// `INSERT … ON CONFLICT (key) DO UPDATE` statements (plain INSERTs for a table without key
// columns). A statement holds at most `batchSize` rows and never more than PostgreSQL's 65535
// bind parameters; rows with the same key inside one statement are reduced to the last one,
// because one INSERT … ON CONFLICT cannot touch a row twice (lastRowPerKey, which also puts them
// in key order).

import { lastRowPerKey } from '../common/sql-row-mapper.ts';
import type { TableName } from '../common/sql-sink-options.ts';

/** PostgreSQL's limit of bind parameters in one statement. */
export const MAX_BIND_PARAMETERS = 65535;

/** `"name"`, with embedded quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteTableName(name: TableName): string {
  return name.schema === undefined ? quoteIdentifier(name.table) : `${quoteIdentifier(name.schema)}.${quoteIdentifier(name.table)}`;
}

/** One statement with its parameters; `name` makes pg prepare it once per connection. */
export interface Statement {
  readonly name?: string;
  readonly text: string;
  readonly values: unknown[];
}

/** Builds the write statements for rows of one table. Rows are arrays in `columns` order. */
export class RowStatementBuilder {
  private readonly rowsPerStatement: number;
  private readonly keyIndexes: readonly number[];
  private readonly head: string;
  private readonly tail: string;
  /** The SQL text of a statement with exactly `rowsPerStatement` rows, the common case. */
  private fullStatementText: string | undefined;
  private readonly statementNamePrefix: string;

  constructor(table: TableName, private readonly columns: readonly string[], keyColumns: readonly string[], batchSize: number, statementId: string) {
    this.rowsPerStatement = Math.max(1, Math.min(batchSize, Math.floor(MAX_BIND_PARAMETERS / columns.length)));
    this.keyIndexes = keyColumns.map((k) => columns.indexOf(k));
    this.head = `INSERT INTO ${quoteTableName(table)} (${columns.map(quoteIdentifier).join(', ')}) VALUES `;
    const updated = columns.filter((c) => !keyColumns.includes(c));
    if (keyColumns.length === 0) this.tail = '';
    else if (updated.length === 0) this.tail = ` ON CONFLICT (${keyColumns.map(quoteIdentifier).join(', ')}) DO NOTHING`;
    else {
      const set = updated.map((c) => `${quoteIdentifier(c)} = EXCLUDED.${quoteIdentifier(c)}`).join(', ');
      this.tail = ` ON CONFLICT (${keyColumns.map(quoteIdentifier).join(', ')}) DO UPDATE SET ${set}`;
    }
    this.statementNamePrefix = `sluice_${statementId}`;
  }

  get maxRowsPerStatement(): number {
    return this.rowsPerStatement;
  }

  /** The statements that write `rows` (in order), `maxRowsPerStatement` rows at most each. */
  statements(rows: readonly (readonly unknown[])[]): Statement[] {
    const statements: Statement[] = [];
    for (let start = 0; start < rows.length; start += this.rowsPerStatement) {
      statements.push(this.statement(lastRowPerKey(rows.slice(start, start + this.rowsPerStatement), this.keyIndexes)));
    }
    return statements;
  }

  private statement(rows: readonly (readonly unknown[])[]): Statement {
    const values: unknown[] = [];
    for (const row of rows) for (const value of row) values.push(value);
    if (rows.length === this.rowsPerStatement) {
      this.fullStatementText ??= this.text(rows.length);
      return { name: `${this.statementNamePrefix}_${rows.length}`, text: this.fullStatementText, values };
    }
    return { text: this.text(rows.length), values };
  }

  private text(rowCount: number): string {
    const width = this.columns.length;
    const tuples: string[] = [];
    for (let r = 0; r < rowCount; r++) {
      const params: string[] = [];
      for (let c = 1; c <= width; c++) params.push(`$${r * width + c}`);
      tuples.push(`(${params.join(', ')})`);
    }
    return this.head + tuples.join(', ') + this.tail;
  }
}
