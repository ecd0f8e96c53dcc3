// CSV for a FileSource (Flink's CsvReaderFormat): RFC 4180 fields (quoted fields may hold the
// delimiter, line ends and doubled quotes), columns named by each file's header row or by
// `columns`, optional number and boolean columns. A row with another number of fields than there
// are columns, a malformed quoted field or a value that is not of its column's type is bad input
// named by `<path>:<line>`; a header that cannot name the columns makes the whole file bad input.

import { ConfigurationError } from '../../../shared/errors.ts';
import { checkKnownFields } from '../common/connector-options.ts';
import type { FileFormat, FileReaderSettings, FileRecordReader } from './file-format.ts';
import type { FilePositionBase, FileSplitPosition, TextFilePosition } from './file-splits.ts';
import type { OpenedFile } from './source-file-system.ts';
import { parseTextPosition, textStartPosition, TextRecordReader, type TextRecordDecoder, type TextRecordOrigin } from './text-record-reader.ts';

export type CsvColumnType = 'string' | 'number' | 'boolean';

export interface CsvReaderFormatOptions<T> {
  /** Column names in file order. Default: each file's header row. */
  readonly columns?: readonly string[];
  /** Each file starts with a header row: it is not a record, and names the columns unless `columns` does. Default true. */
  readonly header?: boolean;
  /** One character. Default ','. */
  readonly delimiter?: string;
  /** One ASCII character, doubled inside a quoted field to stand for itself. Default '"'. */
  readonly quote?: string;
  /** Columns read as numbers or booleans (an empty field is null); the others are strings. */
  readonly types?: Readonly<Record<string, CsvColumnType>>;
  /** Turns a row (column → value) into a record; throwing makes the row bad input. Default: the row. */
  readonly convert?: (row: Record<string, unknown>, origin: TextRecordOrigin) => T;
}

interface ResolvedCsvOptions<T> {
  readonly columns: readonly string[] | undefined;
  readonly header: boolean;
  readonly delimiter: string;
  readonly quote: string;
  readonly types: Readonly<Record<string, CsvColumnType>>;
  readonly convert: ((row: Record<string, unknown>, origin: TextRecordOrigin) => T) | undefined;
}

const OPTION_FIELDS = new Set(['columns', 'header', 'delimiter', 'quote', 'types', 'convert']);
const COLUMN_TYPES: readonly CsvColumnType[] = ['string', 'number', 'boolean'];

function resolveOptions<T>(options: CsvReaderFormatOptions<T>): ResolvedCsvOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'CsvReaderFormat');
  const { columns, header = true, delimiter = ',', quote = '"', types = {}, convert } = options;
  if (typeof header !== 'boolean') throw new ConfigurationError('header', `must be true or false, got ${JSON.stringify(header)}`);
  if (columns !== undefined) {
    if (!Array.isArray(columns) || columns.length === 0) throw new ConfigurationError('columns', 'must be a non-empty array of column names');
    const problem = columnNamesProblem(columns);
    if (problem !== undefined) throw new ConfigurationError('columns', problem);
  } else if (!header) {
    throw new ConfigurationError('columns', 'names the columns when header is false');
  }
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '\n' || delimiter === '\r') {
    throw new ConfigurationError('delimiter', `must be one character other than a line end, got ${JSON.stringify(delimiter)}`);
  }
  if (typeof quote !== 'string' || quote.length !== 1 || quote.charCodeAt(0) > 0x7f || quote === delimiter || quote === '\n' || quote === '\r') {
    throw new ConfigurationError('quote', `must be one ASCII character other than the delimiter and line ends, got ${JSON.stringify(quote)}`);
  }
  if (typeof types !== 'object' || types === null) throw new ConfigurationError('types', 'must be an object of column → string, number or boolean');
  for (const [column, type] of Object.entries(types)) {
    if (!COLUMN_TYPES.includes(type)) throw new ConfigurationError(`types.${column}`, `must be one of ${COLUMN_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
    if (columns !== undefined && !columns.includes(column)) throw new ConfigurationError(`types.${column}`, `is not one of the columns (${columns.join(', ')})`);
  }
  if (convert !== undefined && typeof convert !== 'function') throw new ConfigurationError('convert', `must be a function (row, origin) => record, got ${typeof convert}`);
  return { columns, header, delimiter, quote, types, convert };
}

function columnNamesProblem(columns: readonly unknown[]): string | undefined {
  const seen = new Set<string>();
  for (const [i, name] of columns.entries()) {
    if (typeof name !== 'string' || name.length === 0) return `column ${i + 1} has no name`;
    if (seen.has(name)) return `column "${name}" appears twice`;
    seen.add(name);
  }
  return undefined;
}

export class CsvReaderFormat<T = Record<string, unknown>> implements FileFormat<T> {
  readonly description = 'CSV';
  private readonly options: ResolvedCsvOptions<T>;

  constructor(options: CsvReaderFormatOptions<T> = {}) {
    this.options = resolveOptions(options);
  }

  startPosition(fileSize: number): TextFilePosition {
    return textStartPosition(fileSize);
  }

  parsePosition(label: string, id: string, base: FilePositionBase & Record<string, unknown>): TextFilePosition {
    return parseTextPosition(label, id, base);
  }

  /** A decoder per file: each file's header names its own columns. */
  createReader(file: OpenedFile, position: FileSplitPosition, settings: FileReaderSettings): FileRecordReader<T> {
    return new TextRecordReader(file, position as TextFilePosition, new CsvDecoder(this.options), settings);
  }
}

class CsvDecoder<T> implements TextRecordDecoder<T> {
  readonly quote: number;
  readonly hasHeader: boolean;
  private columns: readonly string[] | undefined;

  constructor(private readonly options: ResolvedCsvOptions<T>) {
    this.quote = options.quote.charCodeAt(0);
    this.hasHeader = options.header;
    this.columns = options.columns;
  }

  header(text: string): void {
    const names = parseCsvFields(text, this.options.delimiter, this.options.quote);
    if (this.options.columns !== undefined) {
      if (names.length !== this.options.columns.length) {
        throw new Error(`it has ${names.length} fields, but columns names ${this.options.columns.length} (${this.options.columns.join(', ')})`);
      }
      return;
    }
    const problem = columnNamesProblem(names);
    if (problem !== undefined) throw new Error(problem);
    for (const column of Object.keys(this.options.types)) {
      if (!names.includes(column)) throw new Error(`types names column "${column}", which the header (${names.join(', ')}) does not have`);
    }
    this.columns = names;
  }

  decode(text: string, origin: TextRecordOrigin): T {
    const columns = this.columns!;
    const fields = parseCsvFields(text, this.options.delimiter, this.options.quote);
    if (fields.length !== columns.length) throw new Error(`row has ${fields.length} fields, expected ${columns.length} (${columns.join(', ')})`);
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      row[column] = typedValue(column, fields[i]!, this.options.types[column]);
    }
    if (this.options.convert === undefined) return row as T;
    try {
      return this.options.convert(row, origin);
    } catch (error) {
      throw new Error(`convert threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function typedValue(column: string, field: string, type: CsvColumnType | undefined): unknown {
  if (type === undefined || type === 'string') return field;
  const trimmed = field.trim();
  if (trimmed === '') return null;
  if (type === 'number') {
    const value = Number(trimmed);
    if (Number.isNaN(value)) throw new Error(`column "${column}": ${JSON.stringify(field)} is not a number`);
    return value;
  }
  const lower = trimmed.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new Error(`column "${column}": ${JSON.stringify(field)} is not a boolean (true or false)`);
}

/** The fields of one CSV record (RFC 4180). Throws on an unterminated quoted field or text after a closing quote. */
export function parseCsvFields(text: string, delimiter: string, quote: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === quote) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const closing = text.indexOf(quote, from);
        if (closing < 0) throw new Error(`field ${fields.length + 1} opens a quote that is never closed`);
        value += text.slice(from, closing);
        if (text[closing + 1] === quote) {
          value += quote;
          from = closing + 2;
          continue;
        }
        i = closing + 1;
        break;
      }
      fields.push(value);
      if (i === text.length) return fields;
      if (text[i] !== delimiter) throw new Error(`field ${fields.length} has ${JSON.stringify(text[i])} after its closing quote (expected ${JSON.stringify(delimiter)} or the end of the row)`);
      i++;
    } else {
      const next = text.indexOf(delimiter, i);
      if (next < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, next));
      i = next + 1;
    }
  }
}
