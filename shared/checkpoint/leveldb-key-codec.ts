// The byte layout of the LevelDB state backend's keys (ARCHITECTURE.md, decision 2):
//
//   [key group: u16 BE][state name length: u16 BE][state name: UTF-8][user key][namespace]
//
// The key group comes first, so one key group is one contiguous range (`keyGroupPrefix`), and
// the state name follows it, so one state of one key group is one range too. Every variable part
// is length-prefixed or tagged, so a key decodes back to exactly one (key group, state name, key,
// namespace) and no two different ones share bytes. Tagged values:
//
//   0x01 string (varint byte length, UTF-8)   0x02 number (float64 BE; -0 is 0)
//   0x03 bigint (varint length, decimal)      0x04 false   0x05 true   0x06 null   0x07 undefined
//   0x08 array (varint count, then parts)     0x09 string with unpaired surrogates (varint
//                                                  code-unit count, UTF-16LE), which UTF-8 would mangle
//
// A namespace is a tagged string or number. The database is private to one backend instance and
// wiped on start, so this layout may change between versions; snapshots are backend-independent.

import { MAX_COMPOSITE_KEY_DEPTH, type Namespace, type StateKey } from './keyed-state-snapshot.ts';
import { hasLoneSurrogate } from '../lone-surrogate.ts';
import { ScratchWriter, VARINT_MAX_BYTES } from './scratch-writer.ts';

const TAG_STRING = 0x01;
const TAG_NUMBER = 0x02;
const TAG_BIGINT = 0x03;
const TAG_FALSE = 0x04;
const TAG_TRUE = 0x05;
const TAG_NULL = 0x06;
const TAG_UNDEFINED = 0x07;
const TAG_ARRAY = 0x08;
const TAG_UTF16_STRING = 0x09;

const KEY_GROUP_BYTES = 2;
const INITIAL_SCRATCH_BYTES = 256;

/** The 2-byte prefix of every key in `keyGroup`; `keyGroupPrefix(kg + 1)` is the exclusive end of its range. */
export function keyGroupPrefix(keyGroup: number): Buffer {
  const prefix = Buffer.allocUnsafe(KEY_GROUP_BYTES);
  prefix.writeUInt16BE(keyGroup, 0);
  return prefix;
}

/** The key group of a key held as a latin1 string (one char per byte), as the backend's overlays keep them. */
export function keyGroupOfKeyText(keyText: string): number {
  return (keyText.charCodeAt(0) << 8) | keyText.charCodeAt(1);
}

/** The bytes that follow the key group for every key of `stateName`; computed once per state. */
export function stateNameSegment(stateName: string): Buffer {
  const nameBytes = Buffer.from(stateName, 'utf8');
  const segment = Buffer.allocUnsafe(2 + nameBytes.length);
  segment.writeUInt16BE(nameBytes.length, 0);
  nameBytes.copy(segment, 2);
  return segment;
}

/**
 * Encodes keys into one reused scratch buffer, so encoding allocates only the result. Not
 * reentrant: the bytes of the last key stay valid until the next `encode`.
 */
export class StateKeyEncoder extends ScratchWriter {
  constructor() {
    super(INITIAL_SCRATCH_BYTES);
  }


  /** Encodes the key and returns it as a latin1 string (one char per byte): cheap to hash, compare and keep. */
  encode(keyGroup: number, stateNameSegmentBytes: Uint8Array, key: StateKey, namespace: Namespace): string {
    this.length = 0;
    this.reserve(KEY_GROUP_BYTES + stateNameSegmentBytes.length);
    this.scratch[0] = keyGroup >>> 8;
    this.scratch[1] = keyGroup & 0xff;
    this.scratch.set(stateNameSegmentBytes, KEY_GROUP_BYTES);
    this.length = KEY_GROUP_BYTES + stateNameSegmentBytes.length;
    this.writePart(key, 0);
    if (typeof namespace === 'string') this.writeString(namespace);
    else if (typeof namespace === 'number') this.writeNumber(namespace);
    else throw new TypeError(`a namespace must be a string or a number, got ${typeof namespace}`);
    return this.scratch.toString('latin1', 0, this.length);
  }

  /** A view of the last encoded key's bytes, valid until the next `encode`. */
  lastKeyBytes(): Buffer {
    return this.scratch.subarray(0, this.length);
  }

  private writePart(part: unknown, depth: number): void {
    switch (typeof part) {
      case 'string':
        this.writeString(part);
        return;
      case 'number':
        this.writeNumber(part);
        return;
      case 'bigint': {
        const digits = part.toString();
        this.reserve(1 + VARINT_MAX_BYTES + digits.length);
        this.scratch[this.length++] = TAG_BIGINT;
        this.writeVarint(digits.length);
        this.length += this.scratch.write(digits, this.length, 'latin1');
        return;
      }
      case 'boolean':
        this.reserve(1);
        this.scratch[this.length++] = part ? TAG_TRUE : TAG_FALSE;
        return;
      case 'undefined':
        this.reserve(1);
        this.scratch[this.length++] = TAG_UNDEFINED;
        return;
      case 'object':
        if (part === null) {
          this.reserve(1);
          this.scratch[this.length++] = TAG_NULL;
          return;
        }
        if (Array.isArray(part) && depth < MAX_COMPOSITE_KEY_DEPTH) {
          this.reserve(1 + VARINT_MAX_BYTES);
          this.scratch[this.length++] = TAG_ARRAY;
          this.writeVarint(part.length);
          for (let i = 0; i < part.length; i++) this.writePart(part[i], depth + 1);
          return;
        }
        if (Array.isArray(part)) {
          throw new TypeError(`a composite key may nest at most ${MAX_COMPOSITE_KEY_DEPTH} arrays deep (is it cyclic?)`);
        }
        break;
    }
    throw new TypeError(
      `a state key may hold strings, numbers, booleans, bigints, null, undefined and arrays of those, got ${typeof part}`,
    );
  }

  private writeString(text: string): void {
    if (hasLoneSurrogate(text)) {
      this.reserve(1 + VARINT_MAX_BYTES + 2 * text.length);
      this.scratch[this.length++] = TAG_UTF16_STRING;
      this.writeVarint(text.length);
      this.length += this.scratch.write(text, this.length, 'utf16le');
      return;
    }
    const byteLength = Buffer.byteLength(text, 'utf8');
    this.reserve(1 + VARINT_MAX_BYTES + byteLength);
    this.scratch[this.length++] = TAG_STRING;
    this.writeVarint(byteLength);
    this.length += this.scratch.write(text, this.length, 'utf8');
  }

  private writeNumber(value: number): void {
    this.reserve(9);
    this.scratch[this.length++] = TAG_NUMBER;
    // -0 and 0 are one key, as in a Map and in the key hash.
    this.scratch.writeDoubleBE(value === 0 ? 0 : value, this.length);
    this.length += 8;
  }

}

export interface DecodedStateKey {
  readonly keyGroup: number;
  readonly stateName: string;
  readonly key: StateKey;
  readonly namespace: Namespace;
}

/** Decodes a key written by `StateKeyEncoder`; throws on bytes that are not one. */
export function decodeStateKey(bytes: Uint8Array): DecodedStateKey {
  const reader = new KeyReader(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const keyGroup = reader.readUInt16();
  const nameLength = reader.readUInt16();
  const stateName = reader.readText(nameLength, 'utf8');
  const key = reader.readPart(0) as StateKey;
  const namespace = reader.readPart(MAX_COMPOSITE_KEY_DEPTH);
  if (typeof namespace !== 'string' && typeof namespace !== 'number') throw new SyntaxError('state key without a namespace');
  if (!reader.atEnd()) throw new SyntaxError('trailing bytes after a state key');
  return { keyGroup, stateName, key, namespace };
}

class KeyReader {
  private position = 0;

  constructor(private readonly bytes: Buffer) {}

  atEnd(): boolean {
    return this.position === this.bytes.length;
  }

  readUInt16(): number {
    this.require(2);
    const value = this.bytes.readUInt16BE(this.position);
    this.position += 2;
    return value;
  }

  readText(byteLength: number, encoding: 'utf8' | 'utf16le' | 'latin1'): string {
    this.require(byteLength);
    const text = this.bytes.toString(encoding, this.position, this.position + byteLength);
    this.position += byteLength;
    return text;
  }

  readPart(depth: number): unknown {
    this.require(1);
    const tag = this.bytes[this.position++];
    switch (tag) {
      case TAG_STRING:
        return this.readText(this.readVarint(), 'utf8');
      case TAG_UTF16_STRING:
        return this.readText(2 * this.readVarint(), 'utf16le');
      case TAG_NUMBER: {
        this.require(8);
        const value = this.bytes.readDoubleBE(this.position);
        this.position += 8;
        return value;
      }
      case TAG_BIGINT:
        return BigInt(this.readText(this.readVarint(), 'latin1'));
      case TAG_FALSE:
        return false;
      case TAG_TRUE:
        return true;
      case TAG_NULL:
        return null;
      case TAG_UNDEFINED:
        return undefined;
      case TAG_ARRAY: {
        if (depth >= MAX_COMPOSITE_KEY_DEPTH) throw new SyntaxError('composite key nested too deep');
        const count = this.readVarint();
        const parts: unknown[] = [];
        for (let i = 0; i < count; i++) parts.push(this.readPart(depth + 1));
        return parts;
      }
    }
    throw new SyntaxError(`unknown tag ${tag} at byte ${this.position - 1} of a state key`);
  }

  private readVarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.require(1);
      const byte = this.bytes[this.position++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new SyntaxError('varint too long in a state key');
  }

  private require(byteCount: number): void {
    if (this.position + byteCount > this.bytes.length) throw new SyntaxError('truncated state key');
  }
}
