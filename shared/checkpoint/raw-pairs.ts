// Key groups as the LevelDB backend stores them: its key and value bytes (leveldb-key-codec.ts,
// state-value-codec.ts), back to back as `[u32 key length][key][u32 value length][value]…`. A
// LevelDB checkpoint writes a key group this way, without decoding and encoding every entry, and
// a LevelDB restore writes the pairs back as they are; anything else decodes them into entries
// (rawPairsToEntries), which is what snapshots keep (the canonical format).

import { RestoreError } from '../errors.ts';
import type { StateEntry } from './keyed-state-snapshot.ts';
import { decodeStateKey } from './leveldb-key-codec.ts';
import { decodeStateValue } from './state-value-codec.ts';

export function encodeRawPairs(pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Buffer {
  let size = 0;
  for (const [key, value] of pairs) size += 8 + key.byteLength + value.byteLength;
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [key, value] of pairs) {
    buffer.writeUInt32BE(key.byteLength, offset);
    buffer.set(key, offset + 4);
    offset += 4 + key.byteLength;
    buffer.writeUInt32BE(value.byteLength, offset);
    buffer.set(value, offset + 4);
    offset += 4 + value.byteLength;
  }
  return buffer;
}

/** The pairs of an encoded buffer, as views into it; `where` names it in errors. */
export function* rawPairs(bytes: Uint8Array, where: string): Generator<[Buffer, Buffer]> {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) throw new RestoreError(`${where}: truncated key/value pairs at byte ${offset}`);
    const keyLength = buffer.readUInt32BE(offset);
    const keyEnd = offset + 4 + keyLength;
    if (keyEnd + 4 > buffer.length) throw new RestoreError(`${where}: truncated key/value pairs at byte ${offset}`);
    const valueLength = buffer.readUInt32BE(keyEnd);
    const valueEnd = keyEnd + 4 + valueLength;
    if (valueEnd > buffer.length) throw new RestoreError(`${where}: truncated key/value pairs at byte ${keyEnd}`);
    yield [buffer.subarray(offset + 4, keyEnd), buffer.subarray(keyEnd + 4, valueEnd)];
    offset = valueEnd;
  }
}

/** The key group of a LevelDB key: its first two bytes. */
export function keyGroupOfRawKey(key: Buffer): number {
  return key.readUInt16BE(0);
}

export function rawPairsToEntries(bytes: Uint8Array, where: string): StateEntry[] {
  const entries: StateEntry[] = [];
  for (const [key, value] of rawPairs(bytes, where)) {
    const decoded = decodeStateKey(key);
    entries.push([decoded.stateName, decoded.key, decoded.namespace, decodeStateValue(value)]);
  }
  return entries;
}
