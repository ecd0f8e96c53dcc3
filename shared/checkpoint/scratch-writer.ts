// The growable scratch buffer the state codecs encode into: reused between values, so encoding
// allocates only its result.

/** A LEB128 varint of a 32-bit length takes at most this many bytes. */
export const VARINT_MAX_BYTES = 5;

export abstract class ScratchWriter {
  protected scratch: Buffer;
  protected length = 0;

  constructor(initialBytes: number) {
    this.scratch = Buffer.allocUnsafe(initialBytes);
  }

  /** Unsigned LEB128. Callers reserve VARINT_MAX_BYTES first. */
  protected writeVarint(value: number): void {
    while (value >= 0x80) {
      this.scratch[this.length++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.scratch[this.length++] = value;
  }

  /** Makes room for `extraBytes` more after what is written, keeping it. */
  protected reserve(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.scratch.length * 2));
    this.scratch.copy(grown, 0, 0, this.length);
    this.scratch = grown;
  }
}
