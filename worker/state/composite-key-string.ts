// The canonical string form of a composite (array) state key. A JS Map compares arrays by
// identity, so the heap structures of both backends key composite keys by this string instead:
// equal arrays give equal strings, and the string decodes back to an equal array for snapshots.
// Scalar keys are never converted (that would allocate per record); they live in separate maps,
// so a string key that happens to look like an encoded array cannot collide with one.
//
// Grammar: array = "[" part* "]"; part = JSON string | "n" number ";" | "b" bigint ";" | "t" |
// "f" | "z" (null) | "u" (undefined) | array. Every part ends unambiguously, so no separators.

/** How deep composite keys may nest; deeper (or cyclic) arrays are rejected instead of overflowing the stack. */
export const MAX_COMPOSITE_KEY_DEPTH = 32;

export function compositeKeyToString(key: readonly unknown[]): string {
  return arrayToString(key, 0);
}

function arrayToString(parts: readonly unknown[], depth: number): string {
  if (depth >= MAX_COMPOSITE_KEY_DEPTH) {
    throw new TypeError(`a composite key may nest at most ${MAX_COMPOSITE_KEY_DEPTH} arrays deep (is it cyclic?)`);
  }
  let text = '[';
  for (let i = 0; i < parts.length; i++) text += partToString(parts[i], depth);
  return text + ']';
}

function partToString(part: unknown, depth: number): string {
  switch (typeof part) {
    case 'string':
      return JSON.stringify(part);
    case 'number':
      // -0 and 0 are one key (as in a Map and in the key hash); String(n) round-trips exactly.
      return part === 0 ? 'n0;' : `n${part};`;
    case 'bigint':
      return `b${part};`;
    case 'boolean':
      return part ? 't' : 'f';
    case 'undefined':
      return 'u';
    case 'object':
      if (part === null) return 'z';
      if (Array.isArray(part)) return arrayToString(part, depth + 1);
      break;
  }
  throw new TypeError(
    `a composite key may hold strings, numbers, booleans, bigints, null, undefined and arrays of those, got ${typeof part}`,
  );
}

export function compositeKeyFromString(text: string): unknown[] {
  const reader = { text, position: 0 };
  const key = readArray(reader);
  if (reader.position !== text.length) throw new SyntaxError(`trailing characters in composite key string ${text}`);
  return key;
}

interface Reader {
  readonly text: string;
  position: number;
}

function readArray(reader: Reader): unknown[] {
  if (reader.text[reader.position] !== '[') throw new SyntaxError(`expected [ at ${reader.position} in ${reader.text}`);
  reader.position++;
  const parts: unknown[] = [];
  while (reader.text[reader.position] !== ']') {
    if (reader.position >= reader.text.length) throw new SyntaxError(`unterminated composite key string ${reader.text}`);
    parts.push(readPart(reader));
  }
  reader.position++;
  return parts;
}

function readPart(reader: Reader): unknown {
  const { text } = reader;
  const tag = text[reader.position];
  switch (tag) {
    case '"': {
      let end = reader.position + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const value: unknown = JSON.parse(text.slice(reader.position, end + 1));
      reader.position = end + 1;
      return value;
    }
    case 'n':
    case 'b': {
      const end = text.indexOf(';', reader.position);
      if (end < 0) throw new SyntaxError(`unterminated number in composite key string ${text}`);
      const digits = text.slice(reader.position + 1, end);
      reader.position = end + 1;
      return tag === 'n' ? Number(digits) : BigInt(digits);
    }
    case 't':
      reader.position++;
      return true;
    case 'f':
      reader.position++;
      return false;
    case 'z':
      reader.position++;
      return null;
    case 'u':
      reader.position++;
      return undefined;
    case '[':
      return readArray(reader);
  }
  throw new SyntaxError(`unexpected ${tag} at ${reader.position} in composite key string ${text}`);
}
