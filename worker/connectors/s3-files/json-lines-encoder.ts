// JSON lines part files: one record per line, UTF-8, each line ending in `\n` (what Athena's
// JSON SerDe reads). Text is gathered in a string and turned into bytes every 256 K characters,
// so the per-record cost is one JSON.stringify and one string append.

import { UserFunctionError } from '../../../shared/errors.ts';
import { concatChunks, type PartEncoder, type PartEncoderFactory } from './part-encoder.ts';

const ENCODE_EVERY_CHARS = 256 * 1024;

export class JsonLinesEncoderFactory<T> implements PartEncoderFactory<T> {
  readonly extension = 'json';

  constructor(private readonly sinkName: string, private readonly serialize: ((value: T) => string) | undefined) {}

  create(): PartEncoder<T> {
    return new JsonLinesEncoder<T>(this.sinkName, this.serialize);
  }
}

class JsonLinesEncoder<T> implements PartEncoder<T> {
  private text = '';
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  private takenBytes = 0;

  constructor(private readonly sinkName: string, private readonly serialize: ((value: T) => string) | undefined) {}

  write(value: T): void {
    let line: unknown;
    try {
      line = this.serialize ? this.serialize(value) : JSON.stringify(value);
    } catch (error) {
      throw new UserFunctionError(`${this.sinkName}: serializing a record to JSON failed: ${(error as Error).message ?? String(error)}`, { cause: error });
    }
    if (typeof line !== 'string') {
      throw new UserFunctionError(`${this.sinkName}: serialize returned ${line === undefined ? 'undefined' : typeof line} instead of a string for record ${String(value)}`);
    }
    if (this.serialize && (line.includes('\n') || line.includes('\r'))) {
      throw new UserFunctionError(`${this.sinkName}: serialize returned a string with a line end, which would split the record: ${JSON.stringify(line.slice(0, 200))}`);
    }
    this.text += line + '\n';
    if (this.text.length >= ENCODE_EVERY_CHARS) this.encodeText();
  }

  private encodeText(): void {
    if (this.text.length === 0) return;
    const bytes = Buffer.from(this.text, 'utf8');
    this.text = '';
    this.chunks.push(bytes);
    this.chunkBytes += bytes.length;
  }

  get pendingBytes(): number {
    // Characters never outnumber UTF-8 bytes: an estimate that never rolls late by more than the text.
    return this.chunkBytes + this.text.length;
  }

  get fileBytes(): number {
    return this.takenBytes + this.pendingBytes;
  }

  take(): Uint8Array {
    this.encodeText();
    const bytes = concatChunks(this.chunks, this.chunkBytes);
    this.takenBytes += this.chunkBytes;
    this.chunks = [];
    this.chunkBytes = 0;
    return bytes;
  }

  finish(): void {
    this.encodeText();
  }
}
