// What makes a key valid in every ObjectStore, and the order `list` returns keys in. One rule for
// all implementations, so code that works on the local directory works on S3 and the other way.

import { InvalidObjectKeyError } from './errors.ts';

/** S3's limit on a key, in UTF-8 bytes (the store's prefix counts too on S3). */
export const MAX_OBJECT_KEY_BYTES = 1024;

/**
 * Throws InvalidObjectKeyError unless `key` is a relative `/`-separated path without empty, `.`
 * or `..` segments and without NUL: such keys mean the same on S3 and as file names.
 */
export function checkObjectKey(location: string, key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidObjectKeyError(location, String(key), 'a key must be a non-empty string');
  if (key.includes('\0')) throw new InvalidObjectKeyError(location, key, 'a key must not contain NUL');
  if (Buffer.byteLength(key, 'utf8') > MAX_OBJECT_KEY_BYTES) {
    throw new InvalidObjectKeyError(location, key, `a key is at most ${MAX_OBJECT_KEY_BYTES} UTF-8 bytes`);
  }
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidObjectKeyError(location, key, 'a key is a relative path without empty, "." or ".." segments');
    }
  }
}

/** S3's list order: keys compared as UTF-8 bytes (not UTF-16 units, which differ above U+FFFF). */
export function compareObjectKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
