// Reads the records of a text file — a line each, or (CSV) lines joined while a quoted field is
// open — for the JSON-lines and CSV formats. It works on bytes: a record ends at a '\n' (an
// optional '\r' before it is dropped) outside quotes, multibyte characters may straddle chunks,
// and the checkpointed position (byte offset and line number of the next record) advances only
// past whole records. The next chunk is fetched while the current one is consumed. A record longer
// than `maxRecordBytes` is bad input: its first bytes are kept for the message, the rest skipped.

import { ExternalSystemError, RestoreError } from '../../../shared/errors.ts';
import type { FileReaderSettings, FileReadResult, FileRecordOutput, FileRecordReader } from './file-format.ts';
import { messageOf, UnreadableFileError } from './file-format.ts';
import type { FilePositionBase, TextFilePosition } from './file-splits.ts';
import type { OpenedFile } from './source-file-system.ts';

/** Where a record came from, for a format's user function. */
export interface TextRecordOrigin {
  readonly path: string;
  readonly byteOffset: number;
  /** 1-based; a CSV record spanning lines has the number of its first. */
  readonly lineNumber: number;
}

/** What makes a text format: how a record's text becomes a value, and the shape of its records. */
export interface TextRecordDecoder<T> {
  /** An ASCII quote byte inside which a line end does not end the record (CSV's '"'). */
  readonly quote: number | undefined;
  /** The file's first (non-blank) record is a header: handed to `header`, not emitted. */
  readonly hasHeader: boolean;
  header(text: string, origin: TextRecordOrigin): void;
  /** Throws on bad input; the message is the reason given with the record. */
  decode(text: string, origin: TextRecordOrigin): T;
}

export function textStartPosition(fileSize: number): TextFilePosition {
  return { fileSize, finished: fileSize === 0, byteOffset: 0, lineNumber: 1 };
}

export function parseTextPosition(label: string, id: string, base: FilePositionBase & Record<string, unknown>): TextFilePosition {
  const { byteOffset, lineNumber } = base;
  const valid = Number.isSafeInteger(byteOffset) && (byteOffset as number) >= 0 && (byteOffset as number) <= base.fileSize && Number.isSafeInteger(lineNumber) && (lineNumber as number) >= 1;
  if (!valid) throw new RestoreError(`${label}: split ${id} has position ${JSON.stringify(base)}; expected { byteOffset from 0 to fileSize, lineNumber >= 1 }`);
  return { fileSize: base.fileSize, finished: base.finished, byteOffset: byteOffset as number, lineNumber: lineNumber as number };
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** How much of an oversized record the message keeps. */
const OVERSIZED_PREVIEW_BYTES = 1024;
const EMPTY = Buffer.alloc(0);
const DISCARD: FileRecordOutput<unknown> = { collect: () => {}, reject: () => {} };

interface SkippedRecord {
  bytes: number;
  readonly head: Buffer[];
  headBytes: number;
}

export class TextRecordReader<T> implements FileRecordReader<T> {
  /** `buffer[start, end)` holds bytes read but not consumed; `buffer[start]` is at file offset `byteOffset`. */
  private buffer: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** The checkpointed position: the next record's first byte and line. */
  private byteOffset: number;
  private lineNumber: number;
  /** File offset of `buffer[end]`. */
  private readOffset: number;
  private readonly fileSize: number;
  /** Where the search for the current record's end resumes, and the quote state there. */
  private scanFrom = 0;
  private inQuote = false;
  private quotedNewlines = 0;
  private skipping: SkippedRecord | undefined;
  /** The next record is the file's header. */
  private headerPending: boolean;
  /** Restored past the header: it is read from byte 0 before anything else. */
  private headerFromStart: boolean;
  private prefetch: { readonly offset: number; readonly bytes: Promise<Uint8Array> } | undefined;

  constructor(
    private readonly file: OpenedFile,
    position: TextFilePosition,
    private readonly decoder: TextRecordDecoder<T>,
    private readonly settings: FileReaderSettings,
  ) {
    this.fileSize = position.fileSize;
    this.byteOffset = this.readOffset = position.byteOffset;
    this.lineNumber = position.lineNumber;
    this.headerPending = decoder.hasHeader && position.byteOffset === 0;
    this.headerFromStart = decoder.hasHeader && position.byteOffset > 0 && position.byteOffset < position.fileSize;
  }

  read(output: FileRecordOutput<T>, budget: number): FileReadResult {
    if (this.headerFromStart) return { consumed: 0, status: 'fill' };
    let consumed = 0;
    for (;;) {
      if (this.byteOffset >= this.fileSize) {
        this.release();
        return { consumed, status: 'end' };
      }
      if (consumed >= budget && !this.headerPending) return { consumed, status: 'budget' };
      const terminator = this.findRecordEnd();
      let contentEnd: number;
      let next: number;
      if (terminator >= 0) {
        contentEnd = terminator;
        next = terminator + 1;
      } else if (this.readOffset >= this.fileSize) {
        contentEnd = next = this.end; // the last record has no line end
      } else {
        this.skipIfOversized();
        return { consumed, status: 'fill' };
      }
      if (contentEnd > this.start && this.buffer[contentEnd - 1] === CARRIAGE_RETURN) contentEnd--;
      consumed += this.consumeRecord(output, contentEnd, next);
    }
  }

  /** Consumes `buffer[start, next)` as one record; 1 if it counts against the budget. */
  private consumeRecord(output: FileRecordOutput<T>, contentEnd: number, next: number): number {
    const { buffer, start } = this;
    const origin: TextRecordOrigin = { path: this.file.path, byteOffset: this.byteOffset, lineNumber: this.lineNumber };
    const skipped = this.skipping;
    let contentStart = start;
    if (origin.byteOffset === 0 && skipped === undefined && hasByteOrderMark(buffer, start, contentEnd)) contentStart += 3;
    // The position moves first: whatever happens to this record, it is not read again.
    this.byteOffset += (skipped?.bytes ?? 0) + next - start;
    this.lineNumber += 1 + this.quotedNewlines;
    this.start = this.scanFrom = next;
    this.inQuote = false;
    this.quotedNewlines = 0;
    this.skipping = undefined;
    const position = `${origin.path}:${origin.lineNumber}`;
    const contentBytes = (skipped?.bytes ?? 0) + contentEnd - contentStart;
    if (contentBytes === 0) return 0; // blank lines are skipped
    if (this.headerPending) {
      this.headerPending = false;
      if (skipped !== undefined || contentBytes > this.settings.maxRecordBytes) {
        throw new UnreadableFileError(position, `the header is longer than maxRecordBytes (${this.settings.maxRecordBytes})`);
      }
      try {
        this.decoder.header(buffer.toString('utf8', contentStart, contentEnd), origin);
      } catch (error) {
        throw new UnreadableFileError(position, `bad header: ${messageOf(error)}`, { cause: error });
      }
      return 0;
    }
    if (skipped !== undefined || contentBytes > this.settings.maxRecordBytes) {
      const head = skipped === undefined ? buffer.subarray(contentStart, Math.min(contentEnd, contentStart + OVERSIZED_PREVIEW_BYTES)) : Buffer.concat(skipped.head);
      const reason = `record of ${contentBytes} bytes exceeds maxRecordBytes (${this.settings.maxRecordBytes}); the raw text is its first ${OVERSIZED_PREVIEW_BYTES} bytes`;
      output.reject(head.toString('utf8'), reason, position);
      return 1;
    }
    const text = buffer.toString('utf8', contentStart, contentEnd);
    let value: T;
    try {
      value = this.decoder.decode(text, origin);
    } catch (error) {
      output.reject(text, messageOf(error), position);
      return 1;
    }
    output.collect(value);
    return 1;
  }

  /** The buffer index of the current record's line end, or -1 when it is not read yet. */
  private findRecordEnd(): number {
    const { buffer, end } = this;
    const quote = this.decoder.quote;
    let i = this.scanFrom;
    if (quote === undefined) {
      const newline = indexWithin(buffer, NEWLINE, i, end);
      if (newline >= 0) return newline;
      this.scanFrom = end;
      return -1;
    }
    let inQuote = this.inQuote;
    let newline = -2; // the first line end at or after i: -2 not searched yet, -1 none before `end`
    while (i < end) {
      if (inQuote) {
        const closing = indexWithin(buffer, quote, i, end);
        this.quotedNewlines += countWithin(buffer, NEWLINE, i, closing < 0 ? end : closing);
        if (closing < 0) break;
        i = closing + 1;
        inQuote = false;
      } else {
        if (newline === -2 || (newline >= 0 && newline < i)) newline = indexWithin(buffer, NEWLINE, i, end);
        const opening = indexWithin(buffer, quote, i, newline < 0 ? end : newline);
        if (opening >= 0) {
          i = opening + 1;
          inQuote = true;
        } else if (newline >= 0) {
          this.inQuote = false;
          return newline;
        } else break;
      }
    }
    this.inQuote = inQuote;
    this.scanFrom = end;
    return -1;
  }

  /** A record already longer than allowed: keep its first bytes and drop the rest as it is read. */
  private skipIfOversized(): void {
    if (this.skipping === undefined && this.end - this.start <= this.settings.maxRecordBytes) return;
    const skipped = (this.skipping ??= { bytes: 0, head: [], headBytes: 0 });
    const keep = Math.min(this.end - this.start, OVERSIZED_PREVIEW_BYTES - skipped.headBytes);
    if (keep > 0) {
      skipped.head.push(Buffer.from(this.buffer.subarray(this.start, this.start + keep)));
      skipped.headBytes += keep;
    }
    skipped.bytes += this.end - this.start;
    this.start = this.end = this.scanFrom = 0;
  }

  async fill(): Promise<void> {
    if (this.headerFromStart) {
      await this.readHeaderFromStart();
      return;
    }
    const offset = this.readOffset;
    const length = Math.min(this.settings.readChunkBytes, this.fileSize - offset);
    const bytes = await (this.prefetch?.offset === offset ? this.prefetch.bytes : this.file.read(offset, length));
    this.prefetch = undefined;
    if (bytes.length < length) {
      throw new ExternalSystemError(
        `${this.settings.label}: ${this.file.path} ends at byte ${offset + bytes.length}, before the ${this.fileSize} bytes it had when it was found: it was truncated or replaced`,
      );
    }
    this.append(bytes);
    this.readOffset += bytes.length;
    if (this.readOffset < this.fileSize) {
      const nextOffset = this.readOffset;
      const prefetched = this.file.read(nextOffset, Math.min(this.settings.readChunkBytes, this.fileSize - nextOffset));
      prefetched.catch(() => {}); // awaited (and its error thrown) by the next fill, if any
      this.prefetch = { offset: nextOffset, bytes: prefetched };
    }
  }

  private append(bytes: Uint8Array): void {
    const kept = this.end - this.start;
    if (this.buffer.length - this.end < bytes.length) {
      // Move the partial record to the front; grow when it does not leave room for the chunk.
      const capacity = kept + bytes.length > this.buffer.length ? Math.max(2 * this.buffer.length, kept + bytes.length) : this.buffer.length;
      const target = capacity === this.buffer.length ? this.buffer : Buffer.allocUnsafe(capacity);
      this.buffer.copy(target, 0, this.start, this.end);
      this.scanFrom -= this.start;
      this.buffer = target;
      this.start = 0;
      this.end = kept;
    }
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** A reader restored past the header reads it from the file's start (it names CSV columns). */
  private async readHeaderFromStart(): Promise<void> {
    const fromStart = new TextRecordReader<T>(this.file, { fileSize: this.fileSize, finished: false, byteOffset: 0, lineNumber: 1 }, this.decoder, this.settings);
    for (;;) {
      const { status } = fromStart.read(DISCARD as FileRecordOutput<T>, 0);
      if (!fromStart.headerPending || status === 'end') break;
      await fromStart.fill();
    }
    // A checkpoint taken among blank lines before the header has not consumed it yet.
    if (this.byteOffset < fromStart.byteOffset) this.headerPending = true;
    fromStart.release();
    this.headerFromStart = false;
  }

  position(): TextFilePosition {
    return { fileSize: this.fileSize, finished: this.byteOffset >= this.fileSize, byteOffset: this.byteOffset, lineNumber: this.lineNumber };
  }

  close(): void {
    this.release();
  }

  private release(): void {
    this.buffer = EMPTY;
    this.start = this.end = this.scanFrom = 0;
    this.prefetch = undefined;
  }
}

/** The index of `byte` in `buffer[from, to)`, or -1. */
function indexWithin(buffer: Buffer, byte: number, from: number, to: number): number {
  if (from >= to) return -1;
  const found = buffer.subarray(from, to).indexOf(byte);
  return found < 0 ? -1 : from + found;
}

function countWithin(buffer: Buffer, byte: number, from: number, to: number): number {
  let count = 0;
  for (let i = indexWithin(buffer, byte, from, to); i >= 0; i = indexWithin(buffer, byte, i + 1, to)) count++;
  return count;
}

function hasByteOrderMark(buffer: Buffer, start: number, end: number): boolean {
  return end - start >= 3 && buffer[start] === 0xef && buffer[start + 1] === 0xbb && buffer[start + 2] === 0xbf;
}
