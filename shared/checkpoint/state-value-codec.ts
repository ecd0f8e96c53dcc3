// The byte form of state values in the LevelDB backend. v8.serialize is faithful (Maps, Sets,
// bigints, Dates, shared and cyclic references) but costs ~2 µs per call before it writes a byte
// and v8.deserialize ~1.7 µs, and the backend serializes on every flush and eviction and
// deserializes on every cache miss. So plain data (primitives, arrays, plain objects, Maps, Sets,
// Dates) is written by a small encoder here (~0.2 µs for a small object); anything else, and any
// value that references one object twice, is stored as v8.serialize bytes, unchanged.
//
// The first byte tells the two apart: v8.serialize output always starts with 0xFF (its version
// tag); our encoding starts with a value tag below 0x20. Value tags:
//
//   0x01 number (float64 LE)   0x02 string (varint byte length, UTF-8)   0x03 string with unpaired
//   surrogates (varint code units, UTF-16LE)   0x04 true   0x05 false   0x06 null   0x07 undefined
//   0x08 bigint (varint length, decimal)   0x09 array (varint length, elements)   0x0a plain object
//   (varint count, then string key and value pairs)   0x0b Map (varint size, key and value pairs)
//   0x0c Set (varint size, values)   0x0d Date (float64 LE time value)
//
// Decoding gives what v8.deserialize would: plain objects for plain objects, holes in arrays are
// kept by falling back to v8 for sparse arrays. One difference: properties that are not array
// indices on an array are dropped here, where v8 would keep them.

import { deserialize, serialize } from 'node:v8';
import { hasLoneSurrogate } from '../lone-surrogate.ts';
import { ScratchWriter, VARINT_MAX_BYTES } from './scratch-writer.ts';

const TAG_NUMBER = 0x01;
const TAG_STRING = 0x02;
const TAG_UTF16_STRING = 0x03;
const TAG_TRUE = 0x04;
const TAG_FALSE = 0x05;
const TAG_NULL = 0x06;
const TAG_UNDEFINED = 0x07;
const TAG_BIGINT = 0x08;
const TAG_ARRAY = 0x09;
const TAG_OBJECT = 0x0a;
const TAG_MAP = 0x0b;
const TAG_SET = 0x0c;
const TAG_DATE = 0x0d;
/** The first byte of every v8.serialize output. */
const V8_SERIALIZED = 0xff;

/** Nesting beyond this is left to v8.serialize (which also handles cycles). */
const MAX_FAST_DEPTH = 64;
const INITIAL_SCRATCH_BYTES = 1024;
/** Below this, a byte loop copies faster than a native call. */
const SMALL_COPY_BYTES = 64;
/** Strings up to this many UTF-16 units are tried as ASCII byte by byte before calling the UTF-8 encoder. */
const ASCII_LOOP_MAX_CHARS = 64;
/** The scratch buffer shrinks back after a value larger than this, so one huge value does not pin memory. */
const RETAINED_SCRATCH_BYTES = 1 << 20;

const objectPrototype = Object.prototype;

/**
 * Encodes state values into one reused scratch buffer and returns a right-sized copy. Throws what
 * v8.serialize throws for values that cannot be stored (functions, symbols, …).
 */
export class StateValueEncoder extends ScratchWriter {
  /** Objects on the current value, to send shared and cyclic references to v8.serialize. */
  private readonly seen = new Set<object>();

  constructor() {
    super(INITIAL_SCRATCH_BYTES);
  }

  encode(value: unknown): Buffer {
    this.length = 0;
    let written: boolean;
    try {
      written = this.writeValue(value, 0);
    } finally {
      this.seen.clear();
    }
    if (!written) return serialize(value);
    const length = this.length;
    const bytes = Buffer.allocUnsafe(length);
    if (length <= SMALL_COPY_BYTES) {
      const scratch = this.scratch;
      for (let i = 0; i < length; i++) bytes[i] = scratch[i]!;
    } else {
      this.scratch.copy(bytes, 0, 0, length);
    }
    if (this.scratch.length > RETAINED_SCRATCH_BYTES) this.scratch = Buffer.allocUnsafe(INITIAL_SCRATCH_BYTES);
    return bytes;
  }

  /** Writes `value`; false if it needs v8.serialize instead. */
  private writeValue(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case 'number':
        this.reserve(9);
        this.scratch[this.length++] = TAG_NUMBER;
        this.scratch.writeDoubleLE(value, this.length);
        this.length += 8;
        return true;
      case 'string':
        this.writeString(value);
        return true;
      case 'boolean':
        this.reserve(1);
        this.scratch[this.length++] = value ? TAG_TRUE : TAG_FALSE;
        return true;
      case 'undefined':
        this.reserve(1);
        this.scratch[this.length++] = TAG_UNDEFINED;
        return true;
      case 'bigint': {
        const digits = value.toString();
        this.reserve(1 + VARINT_MAX_BYTES + digits.length);
        this.scratch[this.length++] = TAG_BIGINT;
        this.writeVarint(digits.length);
        this.length += this.scratch.write(digits, this.length, 'latin1');
        return true;
      }
      case 'object':
        if (value === null) {
          this.reserve(1);
          this.scratch[this.length++] = TAG_NULL;
          return true;
        }
        if (depth >= MAX_FAST_DEPTH || this.seen.has(value)) return false;
        this.seen.add(value);
        return this.writeObject(value, depth + 1);
      default:
        return false; // functions and symbols: v8.serialize throws the error callers should see
    }
  }

  private writeObject(value: object, depth: number): boolean {
    const prototype = Object.getPrototypeOf(value);
    if (prototype === objectPrototype || prototype === null) {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      this.reserve(1 + VARINT_MAX_BYTES);
      this.scratch[this.length++] = TAG_OBJECT;
      this.writeVarint(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        this.writeString(key);
        if (!this.writeValue(record[key], depth)) return false;
      }
      return true;
    }
    if (Array.isArray(value)) {
      if (prototype !== Array.prototype) return false;
      this.reserve(1 + VARINT_MAX_BYTES);
      this.scratch[this.length++] = TAG_ARRAY;
      this.writeVarint(value.length);
      for (let i = 0; i < value.length; i++) {
        const element: unknown = value[i];
        if (element === undefined && !(i in value)) return false; // a hole: v8 keeps it sparse
        if (!this.writeValue(element, depth)) return false;
      }
      return true;
    }
    if (prototype === Map.prototype) {
      const map = value as Map<unknown, unknown>;
      this.reserve(1 + VARINT_MAX_BYTES);
      this.scratch[this.length++] = TAG_MAP;
      this.writeVarint(map.size);
      for (const [key, element] of map) {
        if (!this.writeValue(key, depth) || !this.writeValue(element, depth)) return false;
      }
      return true;
    }
    if (prototype === Set.prototype) {
      const set = value as Set<unknown>;
      this.reserve(1 + VARINT_MAX_BYTES);
      this.scratch[this.length++] = TAG_SET;
      this.writeVarint(set.size);
      for (const element of set) if (!this.writeValue(element, depth)) return false;
      return true;
    }
    if (prototype === Date.prototype) {
      this.reserve(9);
      this.scratch[this.length++] = TAG_DATE;
      this.scratch.writeDoubleLE((value as Date).getTime(), this.length);
      this.length += 8;
      return true;
    }
    return false; // class instances, typed arrays, RegExps, errors, boxed primitives: v8 knows them
  }

  private writeString(text: string): void {
    const length = text.length;
    if (length <= ASCII_LOOP_MAX_CHARS) {
      // Most keys and short values are ASCII: writing them byte by byte beats a native call.
      this.reserve(2 + length);
      const scratch = this.scratch;
      const start = this.length;
      let i = 0;
      for (; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        scratch[start + 2 + i] = code;
      }
      if (i === length) {
        scratch[start] = TAG_STRING;
        scratch[start + 1] = length; // ≤ 64, a 1-byte varint
        this.length = start + 2 + length;
        return;
      }
    }
    if (length > 0 && hasLoneSurrogate(text)) {
      this.reserve(1 + VARINT_MAX_BYTES + 2 * text.length);
      this.scratch[this.length++] = TAG_UTF16_STRING;
      this.writeVarint(text.length);
      this.length += this.scratch.write(text, this.length, 'utf16le');
      return;
    }
    // At most 3 bytes per UTF-16 code unit; cheaper than measuring the string first.
    this.reserve(1 + VARINT_MAX_BYTES + 3 * text.length);
    this.scratch[this.length++] = TAG_STRING;
    if (text.length < 43) {
      // Fits a 1-byte varint (≤ 127 bytes): write in place.
      const lengthAt = this.length++;
      const written = this.scratch.write(text, this.length, 'utf8');
      this.scratch[lengthAt] = written;
      this.length += written;
      return;
    }
    const byteLength = Buffer.byteLength(text, 'utf8');
    this.writeVarint(byteLength);
    this.length += this.scratch.write(text, this.length, 'utf8');
  }

}

export function decodeStateValue(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new SyntaxError('empty state value');
  if (bytes[0] === V8_SERIALIZED) return deserialize(bytes);
  const reader = new ValueReader(bytes);
  const value = reader.readValue();
  if (!reader.atEnd()) throw new SyntaxError('trailing bytes after a state value');
  return value;
}

class ValueReader {
  private position = 0;

  constructor(private readonly bytes: Buffer) {}

  atEnd(): boolean {
    return this.position === this.bytes.length;
  }

  readValue(): unknown {
    const bytes = this.bytes;
    if (this.position >= bytes.length) throw new SyntaxError('truncated state value');
    const tag = bytes[this.position++];
    switch (tag) {
      case TAG_NUMBER:
        return this.readDouble();
      case TAG_STRING:
        return this.readText(this.readVarint(), 'utf8');
      case TAG_UTF16_STRING:
        return this.readText(2 * this.readVarint(), 'utf16le');
      case TAG_TRUE:
        return true;
      case TAG_FALSE:
        return false;
      case TAG_NULL:
        return null;
      case TAG_UNDEFINED:
        return undefined;
      case TAG_BIGINT:
        return BigInt(this.readText(this.readVarint(), 'latin1'));
      case TAG_ARRAY: {
        const length = this.readVarint();
        const array: unknown[] = new Array(length);
        for (let i = 0; i < length; i++) array[i] = this.readValue();
        return array;
      }
      case TAG_OBJECT: {
        const count = this.readVarint();
        const record: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const key = this.readValue();
          if (typeof key !== 'string') throw new SyntaxError('state value object with a key that is not a string');
          const value = this.readValue();
          // Assigning "__proto__" would set the prototype instead of creating the own property v8 would.
          if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
          else record[key] = value;
        }
        return record;
      }
      case TAG_MAP: {
        const size = this.readVarint();
        const map = new Map<unknown, unknown>();
        for (let i = 0; i < size; i++) {
          const key = this.readValue();
          map.set(key, this.readValue());
        }
        return map;
      }
      case TAG_SET: {
        const size = this.readVarint();
        const set = new Set<unknown>();
        for (let i = 0; i < size; i++) set.add(this.readValue());
        return set;
      }
      case TAG_DATE:
        return new Date(this.readDouble());
    }
    throw new SyntaxError(`unknown tag ${tag} at byte ${this.position - 1} of a state value`);
  }

  private readDouble(): number {
    if (this.position + 8 > this.bytes.length) throw new SyntaxError('truncated state value');
    const value = this.bytes.readDoubleLE(this.position);
    this.position += 8;
    return value;
  }

  private readText(byteLength: number, encoding: 'utf8' | 'utf16le' | 'latin1'): string {
    const end = this.position + byteLength;
    if (end > this.bytes.length) throw new SyntaxError('truncated state value');
    const text = this.bytes.toString(encoding, this.position, end);
    this.position = end;
    return text;
  }

  private readVarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.position >= this.bytes.length) throw new SyntaxError('truncated state value');
      const byte = this.bytes[this.position++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new SyntaxError('varint too long in a state value');
  }
}
