import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EVENT_FRAME_HEADER_BYTES,
  FrameError,
  FrameParser,
  FrameType,
  PROTOCOL_VERSION,
  encodeCloseFrame,
  encodeCreditFrame,
  encodeErrorFrame,
  encodeEventFrame,
  encodeHelloFrame,
  encodeOpenFrame,
  type Frame,
} from './frame.ts';

/** A frame as plain data, with an EVENT's payload copied out of whatever buffer held it. */
function plain(frame: Frame): unknown {
  return frame.type === 'event' ? { type: 'event', channelId: frame.channelId, payload: Buffer.from(frame.bytes.subarray(frame.start, frame.end)) } : { ...frame };
}

function parseAll(parser: FrameParser, chunks: Buffer[]): unknown[] {
  const frames: unknown[] = [];
  for (const chunk of chunks) parser.push(chunk, (frame) => frames.push(plain(frame)));
  return frames;
}

function lcg(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

const payload = (size: number, fill: number) => Buffer.alloc(size, fill);

const FRAMES: Array<[Buffer, unknown]> = [
  [encodeHelloFrame('s3cret', 'worker-1'), { type: 'hello', protocolVersion: PROTOCOL_VERSION, token: 's3cret', workerId: 'worker-1' }],
  [encodeOpenFrame(7, 'job/1/0/2→3 ünïcode'), { type: 'open', channelId: 7, channelKey: 'job/1/0/2→3 ünïcode' }],
  [encodeCreditFrame(7, 4), { type: 'credit', channelId: 7, credits: 4 }],
  [encodeEventFrame(7, payload(1, 1)), { type: 'event', channelId: 7, payload: payload(1, 1) }],
  [encodeEventFrame(8, payload(70_000, 2)), { type: 'event', channelId: 8, payload: payload(70_000, 2) }],
  [encodeEventFrame(9, payload(300, 3)), { type: 'event', channelId: 9, payload: payload(300, 3) }],
  [encodeCloseFrame(7), { type: 'close', channelId: 7 }],
  [encodeErrorFrame('refused: wrong cluster token'), { type: 'error', message: 'refused: wrong cluster token' }],
  [encodeHelloFrame('', ''), { type: 'hello', protocolVersion: PROTOCOL_VERSION, token: '', workerId: '' }],
];

test('every frame type round-trips through the parser', () => {
  for (const [bytes, expected] of FRAMES) assert.deepEqual(parseAll(new FrameParser(), [bytes]), [expected]);
});

test('frames packed in one chunk, split across chunks or cut byte by byte parse the same', () => {
  const stream = Buffer.concat(FRAMES.map(([bytes]) => bytes));
  const expected = FRAMES.map(([, frame]) => frame);
  assert.deepEqual(parseAll(new FrameParser(), [stream]), expected, 'one chunk');
  assert.deepEqual(parseAll(new FrameParser(), [...stream].map((byte) => Buffer.from([byte]))), expected, 'byte by byte');
  const random = lcg(42);
  for (let round = 0; round < 200; round++) {
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; ) {
      // Mostly small cuts, sometimes large ones, so headers and bodies split everywhere.
      const size = 1 + Math.floor(random() < 0.8 ? random() * 16 : random() * 100_000);
      chunks.push(stream.subarray(at, at + size));
      at += size;
    }
    const parser = new FrameParser();
    assert.deepEqual(parseAll(parser, chunks), expected, `round ${round}`);
    assert.equal(parser.bufferedBytes, 0);
  }
});

test('a 4 MiB frame arriving in 1000-byte chunks is delivered once, whole', () => {
  const big = encodeEventFrame(1, payload(4 * 1024 * 1024, 5));
  const parser = new FrameParser();
  let frames = 0;
  for (let at = 0; at < big.length; at += 1000) {
    parser.push(big.subarray(at, at + 1000), (frame) => {
      frames++;
      assert.equal(frame.type, 'event');
      if (frame.type === 'event') assert.equal(frame.end - frame.start, 4 * 1024 * 1024);
    });
  }
  assert.equal(frames, 1);
});

test('an unknown frame type is a FrameError, and the parser accepts nothing after it', () => {
  const bad = Buffer.from([1, 0, 0, 0, 99]);
  const parser = new FrameParser();
  assert.throws(() => parser.push(bad, () => {}), (error) => error instanceof FrameError && /unknown frame type 99/.test(error.message));
  assert.throws(() => parser.push(encodeCloseFrame(1), () => {}), FrameError);
});

test('a frame longer than maxFrameBytes is refused as soon as its length is read', () => {
  const parser = new FrameParser(1024);
  const header = Buffer.alloc(5);
  header.writeUInt32LE(10_000, 0);
  header[4] = FrameType.EVENT;
  assert.throws(() => parser.push(header.subarray(0, 4), () => {}), /more than maxFrameBytes 1024/);
});

test('a zero length and malformed bodies are FrameErrors', () => {
  const zero = Buffer.alloc(4);
  assert.throws(() => new FrameParser().push(zero, () => {}), /length 0/);
  const shortCredit = Buffer.from([5, 0, 0, 0, FrameType.CREDIT, 1, 0, 0, 0]);
  assert.throws(() => new FrameParser().push(shortCredit, () => {}), /CREDIT frame of 4 body bytes/);
  const hello = encodeHelloFrame('token', 'w');
  const truncatedHello = Buffer.from(hello.subarray(0, hello.length - 2));
  truncatedHello.writeUInt32LE(truncatedHello.length - 4, 0);
  assert.throws(() => new FrameParser().push(truncatedHello, () => {}), /truncated HELLO/);
  const emptyEvent = encodeEventFrame(1, Buffer.alloc(0));
  assert.throws(() => new FrameParser().push(emptyEvent, () => {}), /EVENT frame of 4 body bytes/);
});

test('an EVENT frame header leaves room for the channel id', () => {
  assert.equal(EVENT_FRAME_HEADER_BYTES, 9);
  const frame = encodeEventFrame(0xfffffffe, Buffer.from([1, 2, 3]));
  assert.equal(frame.readUInt32LE(0), frame.length - 4);
  assert.equal(frame[4], FrameType.EVENT);
  assert.equal(frame.readUInt32LE(5), 0xfffffffe);
});
