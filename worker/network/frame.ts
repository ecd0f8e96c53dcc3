// The frames of the data plane on a TCP stream between two workers: `[u32 length][u8 type][body]`,
// little endian, where `length` counts the type byte and the body. A FrameParser cuts a byte stream
// into frames whatever the socket's chunking: frames packed several to a chunk are read in place,
// and a frame split across chunks is assembled once, so every byte is copied at most once.
//
//   HELLO   u16 protocol version, u16 + UTF-8 cluster token, u16 + UTF-8 sender worker id
//   OPEN    u32 channel id, UTF-8 channel key           (producer → consumer)
//   CREDIT  u32 channel id, u32 credits                  (consumer → producer)
//   EVENT   u32 channel id, an encoded ChannelEvent      (producer → consumer)
//   CLOSE   u32 channel id                               (producer → consumer: channel released)
//   ERROR   UTF-8 message                                (either way, just before closing)
//
// Channel ids are chosen by the producer, per connection; the key names the channel across the
// cluster and travels once, in OPEN.

import { SluiceError } from '../../shared/errors.ts';

export const PROTOCOL_VERSION = 1;

export const FrameType = {
  HELLO: 1,
  OPEN: 2,
  CREDIT: 3,
  EVENT: 4,
  CLOSE: 5,
  ERROR: 6,
} as const;

/** u32 length + u8 type. */
export const FRAME_HEADER_BYTES = 5;
/** An EVENT frame's header and channel id: what a ChannelEventEncoder leaves free for it. */
export const EVENT_FRAME_HEADER_BYTES = FRAME_HEADER_BYTES + 4;
/** Default largest frame a parser accepts, header included. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const MAX_SHORT_STRING_BYTES = 0xffff;

export type Frame =
  | { readonly type: 'hello'; readonly protocolVersion: number; readonly token: string; readonly workerId: string }
  | { readonly type: 'open'; readonly channelId: number; readonly channelKey: string }
  | { readonly type: 'credit'; readonly channelId: number; readonly credits: number }
  /** The encoded event is `bytes[start, end)`; `bytes` may be a socket chunk holding other frames. */
  | { readonly type: 'event'; readonly channelId: number; readonly bytes: Buffer; readonly start: number; readonly end: number }
  | { readonly type: 'close'; readonly channelId: number }
  | { readonly type: 'error'; readonly message: string };

/** A peer sent bytes that are not a frame of this protocol. */
export class FrameError extends SluiceError {
  override readonly domain = 'external' as const;
}

function frame(type: number, bodyBytes: number): Buffer {
  const bytes = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  bytes.writeUInt32LE(1 + bodyBytes, 0);
  bytes[4] = type;
  return bytes;
}

function shortString(text: string, field: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_SHORT_STRING_BYTES) throw new FrameError(`${field} is longer than ${MAX_SHORT_STRING_BYTES} UTF-8 bytes`);
  return bytes;
}

export function encodeHelloFrame(token: string, workerId: string, protocolVersion = PROTOCOL_VERSION): Buffer {
  const tokenBytes = shortString(token, 'the cluster token');
  const workerIdBytes = shortString(workerId, 'the worker id');
  const bytes = frame(FrameType.HELLO, 2 + 2 + tokenBytes.length + 2 + workerIdBytes.length);
  let at = FRAME_HEADER_BYTES;
  at = bytes.writeUInt16LE(protocolVersion, at);
  at = bytes.writeUInt16LE(tokenBytes.length, at);
  at += tokenBytes.copy(bytes, at);
  at = bytes.writeUInt16LE(workerIdBytes.length, at);
  workerIdBytes.copy(bytes, at);
  return bytes;
}

export function encodeOpenFrame(channelId: number, channelKey: string): Buffer {
  const keyBytes = Buffer.from(channelKey, 'utf8');
  const bytes = frame(FrameType.OPEN, 4 + keyBytes.length);
  bytes.writeUInt32LE(channelId, FRAME_HEADER_BYTES);
  keyBytes.copy(bytes, FRAME_HEADER_BYTES + 4);
  return bytes;
}

export function encodeCreditFrame(channelId: number, credits: number): Buffer {
  const bytes = frame(FrameType.CREDIT, 8);
  bytes.writeUInt32LE(channelId, FRAME_HEADER_BYTES);
  bytes.writeUInt32LE(credits, FRAME_HEADER_BYTES + 4);
  return bytes;
}

export function encodeCloseFrame(channelId: number): Buffer {
  const bytes = frame(FrameType.CLOSE, 4);
  bytes.writeUInt32LE(channelId, FRAME_HEADER_BYTES);
  return bytes;
}

export function encodeErrorFrame(message: string): Buffer {
  const messageBytes = Buffer.from(message, 'utf8');
  const bytes = frame(FrameType.ERROR, messageBytes.length);
  messageBytes.copy(bytes, FRAME_HEADER_BYTES);
  return bytes;
}

/**
 * Turns a buffer whose first EVENT_FRAME_HEADER_BYTES were left free (by a ChannelEventEncoder
 * with that headroom) into an EVENT frame, in place.
 */
export function writeEventFrameHeader(bytes: Buffer, channelId: number): Buffer {
  bytes.writeUInt32LE(bytes.length - 4, 0);
  bytes[4] = FrameType.EVENT;
  bytes.writeUInt32LE(channelId, FRAME_HEADER_BYTES);
  return bytes;
}

/** An EVENT frame around an encoded event (for tests and tools; the data plane encodes in place). */
export function encodeEventFrame(channelId: number, encodedEvent: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(EVENT_FRAME_HEADER_BYTES + encodedEvent.length);
  bytes.set(encodedEvent, EVENT_FRAME_HEADER_BYTES);
  return writeEventFrameHeader(bytes, channelId);
}

/** Cuts a TCP byte stream into frames. After it throws a FrameError it accepts nothing more. */
export class FrameParser {
  /** Chunks holding the start of an incomplete frame. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The incomplete frame's full size, header included, once its length is known; else -1. */
  private frameBytes = -1;
  private failed: FrameError | undefined;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < EVENT_FRAME_HEADER_BYTES) {
      throw new RangeError(`maxFrameBytes must be an integer of at least ${EVENT_FRAME_HEADER_BYTES}, got ${maxFrameBytes}`);
    }
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Feeds one chunk; calls `onFrame` for each frame it completes, in order. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    if (this.failed) throw this.failed;
    try {
      this.parse(chunk, onFrame);
    } catch (error) {
      if (error instanceof FrameError) {
        this.failed = error;
        this.pending = [];
        this.pendingBytes = 0;
      }
      throw error;
    }
  }

  private parse(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.frameBytes < 0) {
        if (this.pendingBytes < 4) return;
        this.frameBytes = this.checkLength(this.readPendingLength());
      }
      if (this.pendingBytes < this.frameBytes) return;
      // Assemble the frame from its chunks, once; what follows it in the last chunk is read in place.
      const assembled = Buffer.allocUnsafe(this.frameBytes);
      let copied = 0;
      let rest = chunk;
      for (const piece of this.pending) {
        const take = Math.min(piece.length, this.frameBytes - copied);
        piece.copy(assembled, copied, 0, take);
        copied += take;
        if (take < piece.length) {
          rest = piece.subarray(take); // only the last chunk can reach past the frame
          break;
        }
        rest = piece.subarray(piece.length);
      }
      this.pending = [];
      this.pendingBytes = 0;
      this.frameBytes = -1;
      onFrame(decodeFrame(assembled, 0, assembled.length));
      chunk = rest;
    }
    let at = 0;
    const length = chunk.length;
    while (length - at >= 4) {
      const frameBytes = this.checkLength(chunk.readUInt32LE(at));
      if (length - at < frameBytes) break;
      onFrame(decodeFrame(chunk, at, at + frameBytes));
      at += frameBytes;
    }
    if (at < length) {
      this.pending = [chunk.subarray(at)];
      this.pendingBytes = length - at;
      this.frameBytes = length - at >= 4 ? this.checkLength(chunk.readUInt32LE(at)) : -1;
    }
  }

  /** The u32 length at the start of the pending chunks, which may be split between them. */
  private readPendingLength(): number {
    const header = Buffer.allocUnsafe(4);
    let copied = 0;
    for (const piece of this.pending) {
      copied += piece.copy(header, copied, 0, Math.min(piece.length, 4 - copied));
      if (copied === 4) break;
    }
    return header.readUInt32LE(0);
  }

  /** The whole frame's size for a length field, or a FrameError if the peer cannot mean it. */
  private checkLength(lengthField: number): number {
    if (lengthField < 1) throw new FrameError('a frame of length 0 (no type byte)');
    const frameBytes = 4 + lengthField;
    if (frameBytes > this.maxFrameBytes) {
      throw new FrameError(`a frame of ${frameBytes} bytes, more than maxFrameBytes ${this.maxFrameBytes}`);
    }
    return frameBytes;
  }
}

/** Reads the frame in `bytes[start, end)`, whose length field has been checked. */
function decodeFrame(bytes: Buffer, start: number, end: number): Frame {
  const type = bytes[start + 4];
  const body = start + FRAME_HEADER_BYTES;
  const bodyBytes = end - body;
  switch (type) {
    case FrameType.EVENT:
      if (bodyBytes < 5) throw new FrameError(`an EVENT frame of ${bodyBytes} body bytes`);
      return { type: 'event', channelId: bytes.readUInt32LE(body), bytes, start: body + 4, end };
    case FrameType.CREDIT: {
      if (bodyBytes !== 8) throw new FrameError(`a CREDIT frame of ${bodyBytes} body bytes, expected 8`);
      return { type: 'credit', channelId: bytes.readUInt32LE(body), credits: bytes.readUInt32LE(body + 4) };
    }
    case FrameType.HELLO: {
      let at = body;
      const readU16 = () => {
        if (at + 2 > end) throw new FrameError('a truncated HELLO frame');
        const value = bytes.readUInt16LE(at);
        at += 2;
        return value;
      };
      const readString = () => {
        const stringBytes = readU16();
        if (at + stringBytes > end) throw new FrameError('a truncated HELLO frame');
        const text = bytes.toString('utf8', at, at + stringBytes);
        at += stringBytes;
        return text;
      };
      const protocolVersion = readU16();
      const token = readString();
      const workerId = readString();
      if (at !== end) throw new FrameError(`${end - at} bytes left over after a HELLO frame`);
      return { type: 'hello', protocolVersion, token, workerId };
    }
    case FrameType.OPEN:
      if (bodyBytes < 4) throw new FrameError(`an OPEN frame of ${bodyBytes} body bytes`);
      return { type: 'open', channelId: bytes.readUInt32LE(body), channelKey: bytes.toString('utf8', body + 4, end) };
    case FrameType.CLOSE:
      if (bodyBytes !== 4) throw new FrameError(`a CLOSE frame of ${bodyBytes} body bytes, expected 4`);
      return { type: 'close', channelId: bytes.readUInt32LE(body) };
    case FrameType.ERROR:
      return { type: 'error', message: bytes.toString('utf8', body, end) };
  }
  throw new FrameError(`unknown frame type ${type}`);
}
