// How the records of one part file become bytes, format by format (JSON lines, Parquet). The sink
// writes records in, takes the encoded bytes out in pieces as they pile up (each piece becomes a
// multipart-upload part of at least 5 MiB), and finishes the file when it rolls.

export interface PartEncoder<T> {
  /** Encodes one record (synchronously); throws a UserFunctionError naming the field when it cannot. */
  write(value: T): void;
  /** Encoded bytes not taken yet, never more than `take` returns (so a part cut at a size is at least that big). */
  readonly pendingBytes: number;
  /** Bytes this file holds so far, taken or not (an estimate, for rolling by size). */
  readonly fileBytes: number;
  /** Everything encoded so far and not taken yet; the encoder keeps nothing of it. */
  take(): Uint8Array;
  /** Writes what the file still needs (a Parquet footer); after this only `take` is called. */
  finish(): void;
}

export interface PartEncoderFactory<T> {
  /** File name extension without the dot (`json`, `parquet`). */
  readonly extension: string;
  create(): PartEncoder<T>;
}

/** Joins byte chunks into one array (no copy for a single chunk). */
export function concatChunks(chunks: readonly Uint8Array[], totalBytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
