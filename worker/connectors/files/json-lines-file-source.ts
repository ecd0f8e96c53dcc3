// A bounded source that reads JSON Lines files (one JSON value per line), as Flink's FileSource
// with a line format. Each file is one split; its position is the byte offset and line number of
// the next line to read, so a restored job continues with exactly that line. The reader works on
// bytes — lines end at '\n' (an optional '\r' before it is dropped), multibyte characters may
// straddle read chunks — and decodes one line at a time. A line that does not parse, or is longer
// than `maxLineBytes`, goes to the dead-letter output with `<path>:<line>` and the job goes on.

import { isAscii } from 'node:buffer';
import { promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { PollStatus, Source, SourceOutput, SourceReader, SplitState } from '../../../shared/api/connectors.ts';
import { ConfigurationError, ExternalSystemError, RestoreError } from '../../../shared/errors.ts';
import { checkKnownFields, positiveIntegerOption } from '../common/connector-options.ts';

/** Where the next line of a file starts: what a split's checkpointed position holds. */
export interface JsonLinesPosition {
  /** Byte offset of the first byte of the next line to read. */
  readonly byteOffset: number;
  /** 1-based number of that line. */
  readonly lineNumber: number;
}

/** Where a line came from, for `deserialize`. */
export interface JsonLinesLineOrigin extends JsonLinesPosition {
  readonly path: string;
}

export interface JsonLinesFileSourceOptions<T> {
  /** Files, or directories whose `*.json`, `*.jsonl` and `*.ndjson` files are read in name order. */
  readonly paths: readonly string[];
  readonly name?: string;
  /** Turns a line (without its line end) into a record; throwing sends the line to the dead letters. Default JSON.parse. */
  readonly deserialize?: (line: string, origin: JsonLinesLineOrigin) => T;
  /** Longer lines are dead letters instead of records. Default 1 MiB. */
  readonly maxLineBytes?: number;
  /** Bytes read from a file at a time. Default 1 MiB; tests use tiny values to split lines and characters. */
  readonly readChunkBytes?: number;
}

interface ResolvedJsonLinesFileSourceOptions<T> {
  readonly paths: readonly string[];
  readonly name: string;
  readonly deserialize: ((line: string, origin: JsonLinesLineOrigin) => T) | undefined;
  readonly maxLineBytes: number;
  readonly readChunkBytes: number;
}

const MIB = 1024 * 1024;
const LISTED_EXTENSIONS = new Set(['.json', '.jsonl', '.ndjson']);
/** How much of an oversized line a dead letter keeps. */
const OVERSIZED_PREVIEW_BYTES = 1024;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

const OPTION_FIELDS = new Set(['paths', 'name', 'deserialize', 'maxLineBytes', 'readChunkBytes']);

function resolveOptions<T>(options: JsonLinesFileSourceOptions<T>): ResolvedJsonLinesFileSourceOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'JsonLinesFileSource');
  const { paths, name, deserialize } = options;
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new ConfigurationError('paths', 'must be a non-empty array of file or directory paths');
  }
  paths.forEach((p, i) => {
    if (typeof p !== 'string' || p.length === 0) throw new ConfigurationError(`paths[${i}]`, `must be a non-empty string, got ${JSON.stringify(p)}`);
  });
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw new ConfigurationError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  if (deserialize !== undefined && typeof deserialize !== 'function') {
    throw new ConfigurationError('deserialize', `must be a function (line, origin) => record, got ${typeof deserialize}`);
  }
  return {
    paths: paths.map((p) => resolve(p)),
    name: name ?? 'JsonLinesFiles',
    deserialize,
    maxLineBytes: positiveIntegerOption('maxLineBytes', options.maxLineBytes, MIB, 'bytes'),
    readChunkBytes: positiveIntegerOption('readChunkBytes', options.readChunkBytes, MIB, 'bytes'),
  };
}

/** Hidden and underscore files are skipped when listing a directory, as Flink's default file filter does. */
function isListedFile(name: string): boolean {
  return !name.startsWith('.') && !name.startsWith('_') && LISTED_EXTENSIONS.has(extname(name).toLowerCase());
}

export class JsonLinesFileSource<T = unknown> implements Source<T> {
  readonly name: string;
  readonly bounded = true;
  private readonly options: ResolvedJsonLinesFileSourceOptions<T>;

  constructor(options: JsonLinesFileSourceOptions<T>) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
  }

  /** One split per file, in the order of `paths` (a directory's files sorted by name); each file once. */
  async discoverSplits(): Promise<SplitState[]> {
    const files: string[] = [];
    for (const path of this.options.paths) {
      let stats: Stats;
      try {
        stats = await fs.stat(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new ConfigurationError('paths', `${path} does not exist`, { cause: error });
        throw new ExternalSystemError(`paths: cannot read ${path}: ${(error as Error).message}`, { cause: error });
      }
      if (stats.isDirectory()) {
        const entries = await fs.readdir(path, { withFileTypes: true });
        const names = entries.filter((e) => isListedFile(e.name) && (e.isFile() || e.isSymbolicLink())).map((e) => e.name);
        names.sort();
        for (const name of names) files.push(join(path, name));
      } else if (stats.isFile()) {
        files.push(path);
      } else {
        throw new ConfigurationError('paths', `${path} is neither a file nor a directory`);
      }
    }
    const start: JsonLinesPosition = { byteOffset: 0, lineNumber: 1 };
    return [...new Set(files)].map((id) => ({ id, position: start }));
  }

  createReader(): SourceReader<T> {
    return new JsonLinesFileReader<T>(this.options);
  }
}

/** One file being read. `buffer[start, end)` holds bytes read but not yet consumed as lines. */
interface FileSplit {
  readonly path: string;
  /** The checkpointed position: only advances when a whole line has been consumed. */
  byteOffset: number;
  lineNumber: number;
  handle: FileHandle | undefined;
  buffer: Buffer;
  start: number;
  end: number;
  /** Where the search for the next '\n' resumes, so a long line is not rescanned after every read. */
  scanFrom: number;
  /**
   * The complete lines of `buffer[textStart, textEnd)`, decoded at once when they are all ASCII
   * (char index = byte index − textStart): one decode per chunk instead of one per line. When
   * they are not, `text` is undefined and those lines are decoded one by one.
   */
  text: string | undefined;
  textStart: number;
  textEnd: number;
  /** File offset of the next read. */
  readOffset: number;
  eof: boolean;
  /** Set while the rest of an oversized line is skipped. */
  oversized: OversizedLine | undefined;
}

/** What is kept of a line too long to buffer: its length so far and its first bytes. */
interface OversizedLine {
  bytes: number;
  readonly head: Buffer[];
  headBytes: number;
  /** Whether the dropped bytes end with '\r', which belongs to the line end if '\n' comes next. */
  endsWithCarriageReturn: boolean;
}

class JsonLinesFileReader<T> implements SourceReader<T> {
  private splits: FileSplit[] = [];
  /** The first split not finished; splits are read one after the other. */
  private current = 0;

  constructor(private readonly options: ResolvedJsonLinesFileSourceOptions<T>) {}

  addSplits(splits: readonly SplitState[]): void {
    for (const split of splits) {
      const { byteOffset, lineNumber } = parsePosition(split);
      this.splits.push({
        path: split.id,
        byteOffset,
        lineNumber,
        handle: undefined,
        buffer: EMPTY,
        start: 0,
        end: 0,
        scanFrom: 0,
        text: undefined,
        textStart: 0,
        textEnd: 0,
        readOffset: byteOffset,
        eof: false,
        oversized: undefined,
      });
    }
  }

  poll(output: SourceOutput<T>, maxRecords: number): PollStatus | Promise<PollStatus> {
    const budget = { left: Math.max(1, maxRecords) };
    const status = this.consumeBuffered(output, budget);
    return status === 'read' ? this.readAndConsume(output, budget) : status;
  }

  /** The slow path of `poll`: reads a chunk whenever the buffered lines are used up. */
  private async readAndConsume(output: SourceOutput<T>, budget: { left: number }): Promise<PollStatus> {
    for (;;) {
      await this.readChunk(this.splits[this.current]!);
      const status = this.consumeBuffered(output, budget);
      if (status !== 'read') return status;
    }
  }

  /**
   * Emits the complete lines already read, split after split, until the budget is spent ('more'),
   * every split is done ('end') or the current split needs bytes from its file ('read').
   */
  private consumeBuffered(output: SourceOutput<T>, budget: { left: number }): PollStatus | 'read' {
    while (this.current < this.splits.length) {
      const split = this.splits[this.current]!;
      if (split.handle === undefined && !split.eof) return 'read';
      while (budget.left > 0) {
        if (!this.consumeLine(split, output)) break;
        budget.left--;
      }
      if (budget.left <= 0) return 'more';
      if (!split.eof) return 'read';
      this.finishSplit(split, output);
      this.current++;
    }
    return 'end';
  }

  /** Consumes the next complete line of the buffer, if there is one; false when it needs more bytes. */
  private consumeLine(split: FileSplit, output: SourceOutput<T>): boolean {
    if (split.start >= split.textEnd && split.oversized === undefined) this.decodeCompleteLines(split);
    if (split.text !== undefined && split.start < split.textEnd) return this.consumeAsciiLine(split, output);
    const { buffer, start, end } = split;
    let newline = split.scanFrom < end ? buffer.indexOf(NEWLINE, split.scanFrom) : -1;
    if (newline >= end) newline = -1;
    let lineEnd: number;
    let next: number;
    if (newline >= 0) {
      lineEnd = newline;
      next = newline + 1;
    } else if (split.eof && (start < end || split.oversized !== undefined)) {
      lineEnd = end; // the last line has no line end
      next = end;
    } else {
      split.scanFrom = end;
      if (split.oversized === undefined && end - start > this.options.maxLineBytes + 1) {
        split.oversized = { bytes: 0, head: [], headBytes: 0, endsWithCarriageReturn: false };
      }
      if (split.oversized !== undefined) this.dropOversizedBytes(split, split.oversized);
      return false;
    }
    const consumedBytes = next - start;
    let contentEnd = lineEnd;
    if (contentEnd > start && buffer[contentEnd - 1] === CARRIAGE_RETURN) contentEnd--;
    const lineNumber = split.lineNumber;
    const oversized = split.oversized;
    split.start = next;
    split.scanFrom = next;
    split.lineNumber++;

    if (oversized !== undefined) {
      split.oversized = undefined;
      split.byteOffset += oversized.bytes + consumedBytes;
      const droppedLineEnd = lineEnd === start && oversized.endsWithCarriageReturn ? 1 : 0;
      const lineBytes = oversized.bytes - droppedLineEnd + (contentEnd - start);
      const head = Buffer.concat([...oversized.head, buffer.subarray(start, contentEnd)]);
      this.deadLetterOversized(split, output, lineNumber, lineBytes, head.toString('utf8', 0, Math.min(lineBytes, OVERSIZED_PREVIEW_BYTES)));
      return true;
    }
    let contentStart = start;
    if (split.byteOffset === 0 && hasByteOrderMark(buffer, start, contentEnd)) contentStart += 3;
    const lineOffset = split.byteOffset;
    split.byteOffset += consumedBytes;
    const lineBytes = contentEnd - contentStart;
    if (lineBytes === 0) return true; // empty lines are skipped
    if (lineBytes > this.options.maxLineBytes) {
      this.deadLetterOversized(split, output, lineNumber, lineBytes, buffer.toString('utf8', contentStart, Math.min(contentEnd, contentStart + OVERSIZED_PREVIEW_BYTES)));
      return true;
    }
    this.emitLine(split, output, buffer.toString('utf8', contentStart, contentEnd), lineOffset, lineNumber);
    return true;
  }

  /**
   * Decodes the complete lines after `start` in one go if they are all ASCII, the common case;
   * otherwise they are decoded one by one (a multibyte character makes char and byte offsets differ).
   */
  private decodeCompleteLines(split: FileSplit): void {
    const { buffer, start, end } = split;
    const firstNewline = split.scanFrom < end ? buffer.indexOf(NEWLINE, split.scanFrom) : -1;
    if (firstNewline < 0 || firstNewline >= end) {
      split.scanFrom = end; // no complete line: nothing to decode, and nothing to search again
      return;
    }
    const lastNewline = buffer.lastIndexOf(NEWLINE, end - 1);
    const lines = buffer.subarray(start, lastNewline + 1);
    split.text = isAscii(lines) ? lines.toString('latin1') : undefined;
    split.textStart = start;
    split.textEnd = lastNewline + 1;
  }

  /** `consumeLine` for a line of the decoded ASCII text: the same rules, on chars. */
  private consumeAsciiLine(split: FileSplit, output: SourceOutput<T>): boolean {
    const text = split.text!;
    const lineStart = split.start - split.textStart;
    const newline = text.indexOf('\n', lineStart);
    const consumedBytes = newline + 1 - lineStart;
    let contentEnd = newline;
    if (contentEnd > lineStart && text.charCodeAt(contentEnd - 1) === CARRIAGE_RETURN) contentEnd--;
    const lineNumber = split.lineNumber;
    const lineOffset = split.byteOffset;
    split.start += consumedBytes;
    split.scanFrom = split.start;
    split.byteOffset += consumedBytes;
    split.lineNumber++;
    const lineBytes = contentEnd - lineStart;
    if (lineBytes === 0) return true; // empty lines are skipped
    if (lineBytes > this.options.maxLineBytes) {
      this.deadLetterOversized(split, output, lineNumber, lineBytes, text.slice(lineStart, lineStart + Math.min(lineBytes, OVERSIZED_PREVIEW_BYTES)));
      return true;
    }
    this.emitLine(split, output, text.slice(lineStart, contentEnd), lineOffset, lineNumber);
    return true;
  }

  private emitLine(split: FileSplit, output: SourceOutput<T>, line: string, lineOffset: number, lineNumber: number): void {
    let value: T;
    try {
      const deserialize = this.options.deserialize;
      value = deserialize ? deserialize(line, { path: split.path, byteOffset: lineOffset, lineNumber }) : (JSON.parse(line) as T);
    } catch (error) {
      const reason = deserializeFailure(error, this.options.deserialize !== undefined);
      output.deadLetter(line, reason, `${split.path}:${lineNumber}`);
      return;
    }
    output.collect(value, this.current);
  }

  /** Drops the buffered bytes of an oversized line, keeping its length and its first bytes for the dead letter. */
  private dropOversizedBytes(split: FileSplit, oversized: OversizedLine): void {
    const { buffer, start, end } = split;
    const keep = Math.min(end - start, OVERSIZED_PREVIEW_BYTES - oversized.headBytes);
    if (keep > 0) {
      oversized.head.push(Buffer.from(buffer.subarray(start, start + keep)));
      oversized.headBytes += keep;
    }
    if (end > start) oversized.endsWithCarriageReturn = buffer[end - 1] === CARRIAGE_RETURN;
    oversized.bytes += end - start;
    split.start = split.end = split.scanFrom = 0;
    split.text = undefined;
    split.textStart = split.textEnd = 0;
  }

  private deadLetterOversized(split: FileSplit, output: SourceOutput<T>, lineNumber: number, lineBytes: number, preview: string): void {
    const reason = `line of ${lineBytes} bytes exceeds maxLineBytes (${this.options.maxLineBytes}); the raw text is its first ${OVERSIZED_PREVIEW_BYTES} bytes`;
    output.deadLetter(preview, reason, `${split.path}:${lineNumber}`);
  }

  /** Opens the file on first use, then appends the next chunk after the unconsumed bytes. */
  private async readChunk(split: FileSplit): Promise<void> {
    if (split.handle === undefined) {
      split.handle = await openAt(split.path, split.byteOffset);
      return;
    }
    const chunk = this.options.readChunkBytes;
    const kept = split.end - split.start;
    if (split.buffer.length - split.end < chunk) {
      // Move the partial line to the front; grow when it fills more than half of the buffer.
      const capacity = kept + chunk > split.buffer.length ? Math.max(2 * split.buffer.length, kept + chunk) : split.buffer.length;
      const target = capacity === split.buffer.length ? split.buffer : Buffer.allocUnsafe(capacity);
      split.buffer.copy(target, 0, split.start, split.end);
      split.scanFrom -= split.start;
      split.text = undefined;
      split.textStart = split.textEnd = 0;
      split.buffer = target;
      split.start = 0;
      split.end = kept;
    }
    let bytesRead: number;
    try {
      ({ bytesRead } = await split.handle.read(split.buffer, split.end, chunk, split.readOffset));
    } catch (error) {
      throw new ExternalSystemError(`JsonLinesFileSource: cannot read ${split.path} at byte ${split.readOffset}: ${(error as Error).message}`, { cause: error, retriable: true });
    }
    split.end += bytesRead;
    split.readOffset += bytesRead;
    if (bytesRead === 0) split.eof = true;
  }

  private finishSplit(split: FileSplit, output: SourceOutput<T>): void {
    split.buffer = EMPTY;
    split.start = split.end = split.scanFrom = 0;
    split.text = undefined;
    split.textStart = split.textEnd = 0;
    const handle = split.handle;
    split.handle = undefined;
    // Closing is not on the path of any record; a close error would only hide nothing worth failing for.
    handle?.close().catch(() => {});
    output.finishSplit(this.current);
  }

  snapshotSplits(): SplitState[] {
    return this.splits.map((s) => ({ id: s.path, position: { byteOffset: s.byteOffset, lineNumber: s.lineNumber } satisfies JsonLinesPosition }));
  }

  async close(): Promise<void> {
    const handles = this.splits.map((s) => s.handle).filter((h): h is FileHandle => h !== undefined);
    for (const s of this.splits) s.handle = undefined;
    await Promise.all(handles.map((h) => h.close().catch(() => {})));
  }
}

const EMPTY = Buffer.alloc(0);

function parsePosition(split: SplitState): JsonLinesPosition {
  const p = split.position as Partial<JsonLinesPosition> | null | undefined;
  const valid =
    typeof split.id === 'string' &&
    typeof p === 'object' &&
    p !== null &&
    Number.isSafeInteger(p.byteOffset) &&
    p.byteOffset! >= 0 &&
    Number.isSafeInteger(p.lineNumber) &&
    p.lineNumber! >= 1;
  if (!valid) {
    throw new RestoreError(`JsonLinesFileSource: split ${String(split.id)} has position ${JSON.stringify(split.position)}; expected { byteOffset >= 0, lineNumber >= 1 }`);
  }
  return { byteOffset: p.byteOffset!, lineNumber: p.lineNumber! };
}

async function openAt(path: string, byteOffset: number): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigurationError('paths', `${path} does not exist (it was listed when the job started, or is in the checkpoint restored from)`, { cause: error });
    }
    throw new ExternalSystemError(`JsonLinesFileSource: cannot open ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (byteOffset > 0) {
    const { size } = await handle.stat();
    if (size < byteOffset) {
      await handle.close().catch(() => {});
      throw new RestoreError(`JsonLinesFileSource: ${path} has ${size} bytes, fewer than the checkpointed position ${byteOffset}; the file was truncated or replaced`);
    }
  }
  return handle;
}

function hasByteOrderMark(buffer: Buffer, start: number, end: number): boolean {
  return end - start >= 3 && buffer[start] === 0xef && buffer[start + 1] === 0xbb && buffer[start + 2] === 0xbf;
}

function deserializeFailure(error: unknown, custom: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  return custom ? `deserialize threw: ${message}` : `invalid JSON: ${message}`;
}
