// The byte form of a ChannelEvent on the data plane between workers (ARCHITECTURE.md, decision 7).
// Records batches are the hot path. When every record of a batch is a plain object with the same
// own keys in the same order and primitive values (the common case: a stream of one event type),
// the batch is written column by column: the key list once, then one column per key (Float64 for
// numbers, length-prefixed UTF-8 for strings, …), and decoded by a constructor compiled once per
// shape, so V8 builds every record as an object literal with fast properties. v8.deserialize of
// the same batch costs several times more per record. Anything else (nested objects, Dates, Maps,
// bigints, mixed shapes, primitives, strings with unpaired surrogates) is written by v8.serialize,
// so every record a task can hold survives the trip.
//
// Layout (little endian):
//
//   records, columnar   u8 1, u32 count, f64 × count timestamps, u16 shape bytes, shape
//                       (varint key count, then varint byte length + UTF-8 per key),
//                       u8 column kind per key, then the columns in key order
//   records, v8         u8 2, u32 count, f64 × count timestamps, v8.serialize(values)
//   watermark           u8 3, f64         idle      u8 4, u8 (0 or 1)
//   barrier             u8 5, f64         end       u8 6
//
// Column kinds: 1 numbers (f64 × count), 2 strings (varint byte length + UTF-8, per record),
// 3 booleans (u8 per record), 4 all null, 5 all undefined, 6 mixed primitives (per record a u8
// tag — 1 number, 2 string, 7 true, 8 false, 4 null, 5 undefined — then the value, if any).
//
// An encoder leaves `headroomBytes` free at the start of what it returns, so the frame layer
// writes its header in place and a batch goes to the socket as one buffer, without a copy.

import { deserialize, serialize } from 'node:v8';
import type { ChannelEvent } from '../runtime/exchange.ts';
import { SluiceError } from '../../shared/errors.ts';
import { hasLoneSurrogate } from '../../shared/lone-surrogate.ts';

const EVENT_RECORDS_COLUMNAR = 1;
const EVENT_RECORDS_V8 = 2;
const EVENT_WATERMARK = 3;
const EVENT_IDLE = 4;
const EVENT_BARRIER = 5;
const EVENT_END = 6;

const COLUMN_NUMBERS = 1;
const COLUMN_STRINGS = 2;
const COLUMN_BOOLEANS = 3;
const COLUMN_NULLS = 4;
const COLUMN_UNDEFINED = 5;
const COLUMN_MIXED = 6;

const VALUE_NUMBER = 1;
const VALUE_STRING = 2;
const VALUE_NULL = 4;
const VALUE_UNDEFINED = 5;
const VALUE_TRUE = 7;
const VALUE_FALSE = 8;

/** A batch with more keys than this is not worth a compiled shape: v8.serialize takes it. */
export const MAX_COLUMNAR_KEYS = 64;
/** Compiled shapes kept per encoder or decoder; a stream with more distinct shapes starts over. */
const MAX_CACHED_SHAPES = 256;
const INITIAL_SCRATCH_BYTES = 64 * 1024;
/** The scratch buffer shrinks back after an event larger than this, so one huge batch does not pin memory. */
const RETAINED_SCRATCH_BYTES = 8 * 1024 * 1024;
/** Column arrays shrink back after a batch longer than this. */
const RETAINED_COLUMN_LENGTH = 16 * 1024;
const HEADER_BYTES = 1 + 4; // event tag, record count
/** A varint of a length up to 2^14 − 1 fits 2 bytes; longer strings are measured first. */
const TWO_BYTE_VARINT_MAX = 0x3fff;

/** Bytes that are not a ChannelEvent this codec wrote: truncated, corrupt or from another version. */
export class RecordBatchCodecError extends SluiceError {
  override readonly domain = 'internal' as const;
}

export type RecordsEncodingPath = 'columnar' | 'v8';

/** Which path encoded a records event (for tests and benchmarks); undefined for other events. */
export function recordsEncodingPath(bytes: Uint8Array, offset = 0): RecordsEncodingPath | undefined {
  const tag = bytes[offset];
  return tag === EVENT_RECORDS_COLUMNAR ? 'columnar' : tag === EVENT_RECORDS_V8 ? 'v8' : undefined;
}

const objectPrototype = Object.prototype;

/**
 * Buffer's own UTF-8 decoder, without toString's argument handling, which costs as much as the
 * decoding for short strings. It is not in the typings (nor documented), so it is checked for.
 */
interface BufferWithUtf8Slice extends Buffer {
  utf8Slice(start: number, end: number): string;
}
const HAS_UTF8_SLICE = typeof (Buffer.prototype as Partial<BufferWithUtf8Slice>).utf8Slice === 'function';

/**
 * Reads the columns of a batch of same-shaped records into `columns` (one array per key): returns
 * how many records matched the shape, so anything below `count` means "not this shape".
 */
type ShapeExtractor = (values: readonly unknown[], count: number, columns: unknown[][]) => number;

function compileExtractor(keys: readonly string[]): ShapeExtractor {
  // for…in visits own enumerable keys in the order Object.keys gives (plus inherited enumerable
  // ones, which a plain object does not have), without allocating the key array.
  const cases = keys.map((key, i) => `case ${i}: if (k !== ${JSON.stringify(key)}) return i; break;`).join('\n');
  const columns = keys.map((_, i) => `const c${i} = columns[${i}];`).join('\n');
  const reads = keys.map((key, i) => `c${i}[i] = r[${JSON.stringify(key)}];`).join('\n');
  const body = `
    return function extract(values, count, columns) {
      ${columns}
      for (let i = 0; i < count; i++) {
        const r = values[i];
        if (typeof r !== 'object' || r === null || getPrototypeOf(r) !== objectPrototype) return i;
        let n = 0;
        for (const k in r) {
          switch (n++) {
            ${cases}
            default: return i;
          }
        }
        if (n !== ${keys.length}) return i;
        ${reads}
      }
      return count;
    };`;
  return new Function('getPrototypeOf', 'objectPrototype', body)(Object.getPrototypeOf, objectPrototype) as ShapeExtractor;
}

/** Builds `count` records of one shape from decoded columns, each an object literal. */
type ShapeBuilder = (count: number, columns: ArrayLike<unknown>[]) => unknown[];

function compileBuilder(keys: readonly string[]): ShapeBuilder {
  const columns = keys.map((_, i) => `const c${i} = columns[${i}];`).join('\n');
  const fields = keys.map((key, i) => `${JSON.stringify(key)}: c${i}[i]`).join(', ');
  const body = `
    return function build(count, columns) {
      ${columns}
      const out = new Array(count);
      for (let i = 0; i < count; i++) out[i] = { ${fields} };
      return out;
    };`;
  return new Function(body)() as ShapeBuilder;
}

interface EncoderShape {
  readonly keys: readonly string[];
  readonly extract: ShapeExtractor;
  /** The shape section as written: u16 length, varint key count, keys. */
  readonly bytes: Buffer;
}

function writeVarintTo(target: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  target[offset++] = value;
  return offset;
}

function shapeBytes(keys: readonly string[]): Buffer {
  const encoded = keys.map((key) => Buffer.from(key, 'utf8'));
  const body = Buffer.allocUnsafe(5 + encoded.reduce((sum, key) => sum + 5 + key.length, 0));
  let length = writeVarintTo(body, 0, keys.length);
  for (const key of encoded) {
    length = writeVarintTo(body, length, key.length);
    length += key.copy(body, length);
  }
  if (length > 0xffff) return Buffer.alloc(0); // caller checks: keys this long go to v8
  const bytes = Buffer.allocUnsafe(2 + length);
  bytes.writeUInt16LE(length, 0);
  body.copy(bytes, 2, 0, length);
  return bytes;
}

/** Why a batch is columnar-encodable: a key list that a compiled object literal reproduces exactly. */
function isColumnarShape(keys: readonly string[]): boolean {
  if (keys.length > MAX_COLUMNAR_KEYS) return false;
  for (const key of keys) {
    // In an object literal "__proto__" sets the prototype instead of defining a property.
    if (key === '__proto__' || hasLoneSurrogate(key)) return false;
  }
  return true;
}

/**
 * Encodes ChannelEvents; keeps a scratch buffer and the compiled shapes it has seen, so use one
 * per producer (it is not re-entrant, and not shared between threads).
 */
export class ChannelEventEncoder {
  private scratch = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);
  private length = 0;
  private numbers = new Float64Array(1024);
  private readonly shapes = new Map<string, EncoderShape>();
  private readonly columns: unknown[][] = [];

  /** @param headroomBytes left free at the start of every encoded event, for a frame header. */
  constructor(readonly headroomBytes = 0) {}

  encode(event: ChannelEvent): Buffer {
    switch (event.kind) {
      case 'records':
        return this.encodeRecords(event.values, event.timestamps);
      case 'watermark':
        return this.encodeDouble(EVENT_WATERMARK, event.watermark);
      case 'barrier':
        return this.encodeDouble(EVENT_BARRIER, event.checkpointId);
      case 'idle': {
        const bytes = Buffer.allocUnsafe(this.headroomBytes + 2);
        bytes[this.headroomBytes] = EVENT_IDLE;
        bytes[this.headroomBytes + 1] = event.idle ? 1 : 0;
        return bytes;
      }
      case 'end': {
        const bytes = Buffer.allocUnsafe(this.headroomBytes + 1);
        bytes[this.headroomBytes] = EVENT_END;
        return bytes;
      }
    }
    throw new RecordBatchCodecError(`cannot encode a channel event of kind ${(event as { kind: unknown }).kind}`);
  }

  private encodeDouble(tag: number, value: number): Buffer {
    const bytes = Buffer.allocUnsafe(this.headroomBytes + 9);
    bytes[this.headroomBytes] = tag;
    bytes.writeDoubleLE(value, this.headroomBytes + 1);
    return bytes;
  }

  private encodeRecords(values: readonly unknown[], timestamps: readonly number[]): Buffer {
    const count = values.length;
    if (timestamps.length !== count) {
      throw new RecordBatchCodecError(`a records batch has ${count} values but ${timestamps.length} timestamps`);
    }
    this.length = this.headroomBytes;
    this.reserve(HEADER_BYTES + 8 * count);
    this.scratch[this.length] = EVENT_RECORDS_COLUMNAR;
    this.scratch.writeUInt32LE(count, this.length + 1);
    this.length += HEADER_BYTES;
    this.writeNumbers(timestamps, count);
    const afterTimestamps = this.length;
    if (!this.writeColumnar(values, count)) {
      // Not one shape of primitives: v8.serialize writes anything a task can hold.
      this.scratch[this.headroomBytes] = EVENT_RECORDS_V8;
      this.length = afterTimestamps;
      const serialized = serialize(values);
      this.reserve(serialized.length);
      this.length += serialized.copy(this.scratch, this.length);
    }
    const out = Buffer.allocUnsafe(this.length);
    this.scratch.copy(out, this.headroomBytes, this.headroomBytes, this.length);
    if (this.scratch.length > RETAINED_SCRATCH_BYTES) this.scratch = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);
    return out;
  }

  /** Writes the shape and columns; false (leaving junk after `length`) when the batch is not columnar. */
  private writeColumnar(values: readonly unknown[], count: number): boolean {
    const shape = count === 0 ? this.shapeOf(EMPTY_KEYS) : this.shapeOfFirst(values[0]);
    if (shape === undefined) return false;
    const keyCount = shape.keys.length;
    const columns = this.columns;
    // The extractor fills each column from index 0 up, so the arrays grow without holes.
    while (columns.length < keyCount) columns.push([]);
    try {
      if (shape.extract(values, count, columns) !== count) return false;
      this.reserve(shape.bytes.length + keyCount);
      this.length += shape.bytes.copy(this.scratch, this.length);
      const kindsAt = this.length;
      this.length += keyCount;
      for (let c = 0; c < keyCount; c++) {
        const kind = this.writeColumn(columns[c]!, count);
        if (kind === 0) return false;
        this.scratch[kindsAt + c] = kind;
      }
      return true;
    } finally {
      // Records must not stay reachable from the encoder between batches.
      for (let c = 0; c < keyCount; c++) {
        if (count > RETAINED_COLUMN_LENGTH) columns[c]!.length = 0;
        else columns[c]!.fill(undefined, 0, count);
      }
    }
  }

  private shapeOfFirst(first: unknown): EncoderShape | undefined {
    if (typeof first !== 'object' || first === null || Object.getPrototypeOf(first) !== objectPrototype) return undefined;
    return this.shapeOf(Object.keys(first));
  }

  private shapeOf(keys: readonly string[]): EncoderShape | undefined {
    const id = keys.join('\u0000');
    let shape = this.shapes.get(id);
    if (shape === undefined) {
      if (!isColumnarShape(keys)) return undefined;
      const bytes = shapeBytes(keys);
      if (bytes.length === 0) return undefined;
      if (this.shapes.size >= MAX_CACHED_SHAPES) this.shapes.clear();
      shape = { keys, extract: compileExtractor(keys), bytes };
      this.shapes.set(id, shape);
    }
    return shape;
  }

  /** Writes one column; returns its kind, or 0 if a value is not a primitive it can write. */
  private writeColumn(column: readonly unknown[], count: number): number {
    let numbers = 0;
    let strings = 0;
    let booleans = 0;
    let nulls = 0;
    let undefineds = 0;
    for (let i = 0; i < count; i++) {
      const value = column[i];
      switch (typeof value) {
        case 'number':
          numbers++;
          break;
        case 'string':
          strings++;
          break;
        case 'boolean':
          booleans++;
          break;
        case 'undefined':
          undefineds++;
          break;
        case 'object':
          if (value === null) {
            nulls++;
            break;
          }
          return 0;
        default:
          return 0;
      }
    }
    if (numbers === count) {
      this.reserve(8 * count);
      this.writeNumbers(column as readonly number[], count);
      return COLUMN_NUMBERS;
    }
    if (strings === count) {
      for (let i = 0; i < count; i++) if (!this.writeString(column[i] as string)) return 0;
      return COLUMN_STRINGS;
    }
    if (booleans === count) {
      this.reserve(count);
      const scratch = this.scratch;
      for (let i = 0; i < count; i++) scratch[this.length + i] = column[i] ? 1 : 0;
      this.length += count;
      return COLUMN_BOOLEANS;
    }
    if (nulls === count) return COLUMN_NULLS;
    if (undefineds === count) return COLUMN_UNDEFINED;
    for (let i = 0; i < count; i++) {
      const value = column[i];
      this.reserve(9);
      switch (typeof value) {
        case 'number':
          this.scratch[this.length++] = VALUE_NUMBER;
          this.scratch.writeDoubleLE(value, this.length);
          this.length += 8;
          break;
        case 'string':
          this.scratch[this.length++] = VALUE_STRING;
          if (!this.writeString(value)) return 0;
          break;
        case 'boolean':
          this.scratch[this.length++] = value ? VALUE_TRUE : VALUE_FALSE;
          break;
        case 'undefined':
          this.scratch[this.length++] = VALUE_UNDEFINED;
          break;
        default:
          this.scratch[this.length++] = VALUE_NULL;
      }
    }
    return COLUMN_MIXED;
  }

  /** f64 × count, through an aligned Float64Array and one byte copy. */
  private writeNumbers(values: readonly number[], count: number): void {
    if (this.numbers.length < count) this.numbers = new Float64Array(Math.max(count, 2 * this.numbers.length));
    const numbers = this.numbers;
    for (let i = 0; i < count; i++) numbers[i] = values[i]!;
    this.scratch.set(new Uint8Array(numbers.buffer, 0, 8 * count), this.length);
    this.length += 8 * count;
  }

  /** Varint UTF-8 byte length, then the bytes; false for a string UTF-8 cannot carry (an unpaired surrogate). */
  private writeString(text: string): boolean {
    const maxBytes = 3 * text.length;
    if (maxBytes <= 0x7f) {
      this.reserve(1 + maxBytes);
      const at = this.length;
      const written = this.scratch.write(text, at + 1, 'utf8');
      if (written !== text.length && hasLoneSurrogate(text)) return false;
      this.scratch[at] = written;
      this.length = at + 1 + written;
      return true;
    }
    if (maxBytes <= TWO_BYTE_VARINT_MAX) {
      // Reserve a 2-byte varint before knowing the length; a short string gets a non-minimal one.
      this.reserve(2 + maxBytes);
      const at = this.length;
      const written = this.scratch.write(text, at + 2, 'utf8');
      if (written !== text.length && hasLoneSurrogate(text)) return false;
      this.scratch[at] = (written & 0x7f) | 0x80;
      this.scratch[at + 1] = written >>> 7;
      this.length = at + 2 + written;
      return true;
    }
    if (hasLoneSurrogate(text)) return false;
    const byteLength = Buffer.byteLength(text, 'utf8');
    this.reserve(5 + byteLength);
    this.length = writeVarintTo(this.scratch, this.length, byteLength);
    this.length += this.scratch.write(text, this.length, 'utf8');
    return true;
  }

  /** Makes room for `extraBytes` more after what is written, keeping it. */
  private reserve(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.scratch.length * 2));
    this.scratch.copy(grown, 0, 0, this.length);
    this.scratch = grown;
  }
}

const EMPTY_KEYS: readonly string[] = [];

interface DecoderShape {
  readonly keys: readonly string[];
  readonly build: ShapeBuilder;
}

/**
 * Aligned room for the f64 columns of the batch being decoded (a Float64Array view needs 8-byte
 * alignment; frame bytes have none): views into one reused buffer, valid until the next batch.
 */
class Float64Scratch {
  private buffer = new Float64Array(16 * 1024);
  private used = 0;

  reset(): void {
    this.used = 0;
  }

  /** A copy of f64 × count from `bytes` at `position`. */
  copy(bytes: Buffer, position: number, count: number): Float64Array {
    if (this.used + count > this.buffer.length) {
      // Views handed out earlier keep the old buffer alive for as long as this batch needs them.
      this.buffer = new Float64Array(Math.max(2 * this.buffer.length, count));
      this.used = 0;
    }
    const view = this.buffer.subarray(this.used, this.used + count);
    this.used += count;
    new Uint8Array(view.buffer, view.byteOffset, 8 * count).set(bytes.subarray(position, position + 8 * count));
    return view;
  }
}

/** Decodes ChannelEvents; keeps the compiled shapes it has seen. */
export class ChannelEventDecoder {
  private readonly shapes = new Map<string, DecoderShape>();
  private readonly float64s = new Float64Scratch();

  /** Decodes the event in `bytes[start, end)`. Throws RecordBatchCodecError for bytes it cannot read. */
  decode(bytes: Buffer, start = 0, end = bytes.length): ChannelEvent {
    if (start >= end) throw new RecordBatchCodecError('an empty channel event');
    const tag = bytes[start]!;
    switch (tag) {
      case EVENT_RECORDS_COLUMNAR:
      case EVENT_RECORDS_V8:
        return this.decodeRecords(bytes, start, end, tag);
      case EVENT_WATERMARK:
        expectLength(end - start, 9, 'watermark');
        return { kind: 'watermark', watermark: bytes.readDoubleLE(start + 1) };
      case EVENT_BARRIER:
        expectLength(end - start, 9, 'barrier');
        return { kind: 'barrier', checkpointId: bytes.readDoubleLE(start + 1) };
      case EVENT_IDLE:
        expectLength(end - start, 2, 'idle');
        return { kind: 'idle', idle: bytes[start + 1] === 1 };
      case EVENT_END:
        expectLength(end - start, 1, 'end');
        return { kind: 'end' };
    }
    throw new RecordBatchCodecError(`unknown channel event tag ${tag}`);
  }

  private decodeRecords(bytes: Buffer, start: number, end: number, tag: number): ChannelEvent {
    if (end - start < HEADER_BYTES) throw new RecordBatchCodecError('a records event shorter than its header');
    const count = bytes.readUInt32LE(start + 1);
    let position = start + HEADER_BYTES;
    if (position + 8 * count > end) throw new RecordBatchCodecError(`a records event of ${count} records is truncated in its timestamps`);
    this.float64s.reset();
    const timestampColumn = this.float64s.copy(bytes, position, count);
    position += 8 * count;
    const timestamps: number[] = new Array(count);
    for (let i = 0; i < count; i++) timestamps[i] = timestampColumn[i]!;
    if (tag === EVENT_RECORDS_V8) {
      let values: unknown;
      try {
        values = deserialize(bytes.subarray(position, end));
      } catch (error) {
        throw new RecordBatchCodecError('a records event holds v8 bytes that do not deserialize', { cause: error });
      }
      if (!Array.isArray(values) || values.length !== count) {
        throw new RecordBatchCodecError(`a records event announced ${count} records but holds something else`);
      }
      return { kind: 'records', values, timestamps };
    }
    if (position + 2 > end) throw new RecordBatchCodecError('a columnar records event is truncated before its shape');
    const shapeLength = bytes.readUInt16LE(position);
    const shapeEnd = position + 2 + shapeLength;
    if (shapeEnd > end) throw new RecordBatchCodecError('a columnar records event is truncated in its shape');
    const shape = this.shapeAt(bytes, position + 2, shapeEnd);
    position = shapeEnd;
    const keyCount = shape.keys.length;
    if (position + keyCount > end) throw new RecordBatchCodecError('a columnar records event is truncated in its column kinds');
    const kindsAt = position;
    position += keyCount;
    const reader = new ColumnReader(bytes, position, end, this.float64s);
    const columns: ArrayLike<unknown>[] = new Array(keyCount);
    for (let c = 0; c < keyCount; c++) columns[c] = reader.readColumn(bytes[kindsAt + c]!, count);
    if (reader.position !== end) throw new RecordBatchCodecError(`${end - reader.position} bytes left over after a columnar records event`);
    return { kind: 'records', values: shape.build(count, columns), timestamps };
  }

  private shapeAt(bytes: Buffer, start: number, end: number): DecoderShape {
    const id = bytes.toString('latin1', start, end);
    let shape = this.shapes.get(id);
    if (shape !== undefined) return shape;
    const reader = new ColumnReader(bytes, start, end, this.float64s);
    const keyCount = reader.readVarint();
    if (keyCount > MAX_COLUMNAR_KEYS) throw new RecordBatchCodecError(`a columnar records event with ${keyCount} keys`);
    const keys: string[] = [];
    for (let k = 0; k < keyCount; k++) keys.push(reader.readString());
    if (reader.position !== end) throw new RecordBatchCodecError('bytes left over after the shape of a columnar records event');
    if (new Set(keys).size !== keys.length || !isColumnarShape(keys)) {
      throw new RecordBatchCodecError(`a columnar records event with a key list no encoder writes: ${JSON.stringify(keys)}`);
    }
    if (this.shapes.size >= MAX_CACHED_SHAPES) this.shapes.clear();
    shape = { keys, build: compileBuilder(keys) };
    this.shapes.set(id, shape);
    return shape;
  }
}

function expectLength(actual: number, expected: number, kind: string): void {
  if (actual !== expected) throw new RecordBatchCodecError(`a ${kind} event of ${actual} bytes, expected ${expected}`);
}

class ColumnReader {
  constructor(
    private readonly bytes: Buffer,
    public position: number,
    private readonly end: number,
    private readonly float64s: Float64Scratch,
  ) {}

  readColumn(kind: number, count: number): ArrayLike<unknown> {
    switch (kind) {
      case COLUMN_NUMBERS: {
        if (this.position + 8 * count > this.end) throw new RecordBatchCodecError('a number column is truncated');
        const column = this.float64s.copy(this.bytes, this.position, count);
        this.position += 8 * count;
        return column;
      }
      case COLUMN_STRINGS: {
        const column: string[] = new Array(count);
        for (let i = 0; i < count; i++) column[i] = this.readString();
        return column;
      }
      case COLUMN_BOOLEANS: {
        if (this.position + count > this.end) throw new RecordBatchCodecError('a boolean column is truncated');
        const column: boolean[] = new Array(count);
        const bytes = this.bytes;
        for (let i = 0; i < count; i++) column[i] = bytes[this.position + i] === 1;
        this.position += count;
        return column;
      }
      case COLUMN_NULLS:
        return new Array(count).fill(null);
      case COLUMN_UNDEFINED:
        return new Array(count).fill(undefined);
      case COLUMN_MIXED: {
        const column: unknown[] = new Array(count);
        for (let i = 0; i < count; i++) column[i] = this.readTaggedValue();
        return column;
      }
    }
    throw new RecordBatchCodecError(`unknown column kind ${kind}`);
  }

  private readTaggedValue(): unknown {
    if (this.position >= this.end) throw new RecordBatchCodecError('a mixed column is truncated');
    const tag = this.bytes[this.position++];
    switch (tag) {
      case VALUE_NUMBER: {
        if (this.position + 8 > this.end) throw new RecordBatchCodecError('a mixed column is truncated in a number');
        const value = this.bytes.readDoubleLE(this.position);
        this.position += 8;
        return value;
      }
      case VALUE_STRING:
        return this.readString();
      case VALUE_TRUE:
        return true;
      case VALUE_FALSE:
        return false;
      case VALUE_NULL:
        return null;
      case VALUE_UNDEFINED:
        return undefined;
    }
    throw new RecordBatchCodecError(`unknown value tag ${tag} in a mixed column`);
  }

  readString(): string {
    // Most strings are shorter than 128 bytes: a 1-byte length.
    const first = this.position < this.end ? this.bytes[this.position]! : 0x80;
    let start: number;
    let length: number;
    if (first < 0x80) {
      length = first;
      start = this.position + 1;
    } else {
      length = this.readVarint();
      start = this.position;
    }
    const stop = start + length;
    if (stop > this.end) throw new RecordBatchCodecError('a string is truncated');
    this.position = stop;
    return HAS_UTF8_SLICE ? (this.bytes as BufferWithUtf8Slice).utf8Slice(start, stop) : this.bytes.toString('utf8', start, stop);
  }

  readVarint(): number {
    const bytes = this.bytes;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.position >= this.end) throw new RecordBatchCodecError('a varint is truncated');
      const byte = bytes[this.position++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new RecordBatchCodecError('a varint longer than 5 bytes');
  }
}

const sharedEncoder = new ChannelEventEncoder();
const sharedDecoder = new ChannelEventDecoder();

/** Encodes one event with a module-wide encoder (no headroom); a hot loop keeps its own encoder. */
export function encodeChannelEvent(event: ChannelEvent): Buffer {
  return sharedEncoder.encode(event);
}

export function decodeChannelEvent(bytes: Buffer): ChannelEvent {
  return sharedDecoder.decode(bytes);
}
