// For tests: a state key as text, to compare and sort keys and to name them in messages.

/** A type-tagged description of a key, written independently of the backends' encodings. */
export function describeKey(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return `s${JSON.stringify(key)}`;
    case 'number':
      return `n${key === 0 ? 0 : key}`;
    case 'bigint':
      return `b${key}`;
    case 'boolean':
      return key ? 'T' : 'F';
    case 'undefined':
      return 'U';
    case 'object':
      if (key === null) return 'N';
      if (Array.isArray(key)) return `[${key.map(describeKey).join(',')}]`;
  }
  throw new TypeError(`not a key: ${String(key)}`);
}
