import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { InMemoryLogger } from '../../shared/logging.ts';
import { InputChannel, type ChannelEvent } from '../runtime/exchange.ts';
import { DataPlane, DataPlaneError, type DataPlaneOptions } from './data-plane.ts';
import { encodeCreditFrame, encodeEventFrame, encodeHelloFrame, encodeOpenFrame } from './frame.ts';
import { encodeChannelEvent } from './record-batch-codec.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';

const TOKEN = 'cluster-token-for-tests';

async function withPlanes(
  count: number,
  body: (planes: DataPlane[], logs: InMemoryLogger[]) => Promise<void>,
  options: Partial<DataPlaneOptions> = {},
): Promise<void> {
  const logs: InMemoryLogger[] = [];
  const planes: DataPlane[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const logger = new InMemoryLogger();
      logs.push(logger);
      planes.push(await DataPlane.create({ host: '127.0.0.1', port: 0, token: TOKEN, workerId: `w${i}`, logger, ...options }));
    }
    await body(planes, logs);
  } finally {
    await Promise.all(planes.map((plane) => plane.close()));
  }
}

function inputChannel(name: string): InputChannel {
  return new InputChannel(0, name, () => {});
}

/** Takes everything queued in `channel` (returning credit as a task would) into `into`. */
function takeAll(channel: InputChannel, into: ChannelEvent[]): ChannelEvent[] {
  for (let event = channel.take(); event !== undefined; event = channel.take()) into.push(event);
  return into;
}

function batch(from: number, size: number): ChannelEvent {
  const values = Array.from({ length: size }, (_, i) => ({ id: from + i, name: `record ${from + i}` }));
  return { kind: 'records', values, timestamps: values.map((v) => 1_000 + v.id) };
}

function errors(log: InMemoryLogger): string[] {
  return log.lines.filter((line) => line.level === 'error').map((line) => `${line.message} ${String(line.error)} ${String(line.peer)}`);
}

test('events arrive in order across two workers: records, watermark, idle, barrier, end', async () => {
  await withPlanes(2, async ([producer, consumer]) => {
    const channel = inputChannel('in');
    consumer!.registerInput('job/1/0', channel);
    const output = producer!.openOutput('job/1/0', consumer!.address);
    const sent: ChannelEvent[] = [];
    const send = (event: ChannelEvent) => {
      sent.push(event);
      output.push(event);
    };
    // More batches than the initial credit, so delivery depends on credit coming back.
    for (let b = 0; b < 20; b++) {
      send(batch(b * 10, 10));
      if (b % 5 === 4) send({ kind: 'watermark', watermark: b * 100 });
    }
    send({ kind: 'idle', idle: true });
    send({ kind: 'idle', idle: false });
    send({ kind: 'barrier', checkpointId: 1 });
    send({ kind: 'records', values: [{ at: new Date(5), tags: new Set(['a']) }, 'a string', 7n], timestamps: [1, 2, 3] }); // the v8 path
    send(batch(1000, 3));
    send({ kind: 'end' });
    const received: ChannelEvent[] = [];
    await waitFor('the end event', 5_000, () => takeAll(channel, received).at(-1)?.kind === 'end');
    assert.deepEqual(received, sent);
    assert.equal(producer!.getStatus().pendingBatches, 0);
    assert.ok(consumer!.getStatus().bytesIn > 0 && producer!.getStatus().bytesOut === consumer!.getStatus().bytesIn);
  });
});

test('a producer that opens before the consumer registers gets no credit until it does', async () => {
  await withPlanes(2, async ([producer, consumer]) => {
    const early = producer!.openOutput('job/1/early', consumer!.address);
    const probe = producer!.openOutput('job/1/probe', consumer!.address);
    consumer!.registerInput('job/1/probe', inputChannel('probe'));
    early.push(batch(0, 5));
    early.push({ kind: 'watermark', watermark: 7 });
    early.push({ kind: 'watermark', watermark: 8 }); // overtakes 7 in the queue: only the latest is sent
    // The consumer handles OPENs in order: once the probe has credit, it has seen the early OPEN.
    await waitFor('credit for the probe channel', 5_000, () => probe.credits > 0);
    assert.equal(early.credits, 0);
    assert.equal(early.pendingBatches, 1);

    const channel = inputChannel('early');
    consumer!.registerInput('job/1/early', channel);
    const received: ChannelEvent[] = [];
    await waitFor('the early events', 5_000, () => takeAll(channel, received).length === 2);
    assert.deepEqual(received, [batch(0, 5), { kind: 'watermark', watermark: 8 }]);
    assert.equal(early.pendingBatches, 0);
  });
});

test('a consumer that does not take keeps its producer unwritable with bounded queues; taking resumes it', async () => {
  await withPlanes(
    2,
    async ([producer, consumer]) => {
      const channel = inputChannel('slow');
      consumer!.registerInput('job/1/slow', channel);
      let writableCalls = 0;
      const output = producer!.openOutput('job/1/slow', consumer!.address, () => writableCalls++);
      let next = 0;
      const fill = () => {
        while (output.writable) output.push(batch(next++ * 2, 2));
      };
      fill();
      assert.equal(output.pendingBatches, 3, 'no credit yet: the producer stops at maxPendingBatches');
      await waitFor('onWritable after the first credit', 5_000, () => writableCalls === 1);
      fill();
      await waitFor('the consumer queue to fill its credit', 5_000, () => channel.queuedRecords === 2 * 4 && output.credits === 0);
      assert.equal(output.writable, false);
      assert.equal(output.pendingBatches, 3);
      assert.equal(producer!.getStatus().pendingBatches, 3);
      // A producer that respects `writable` has made exactly initialCredits + maxPendingBatches batches.
      assert.equal(next, 4 + 3);

      const received: ChannelEvent[] = [];
      takeAll(channel, received);
      await waitFor('onWritable after credit came back', 5_000, () => writableCalls === 2);
      assert.equal(output.writable, true);
      fill();
      output.push({ kind: 'end' });
      await waitFor('everything to arrive', 5_000, () => takeAll(channel, received).at(-1)?.kind === 'end');
      const ids = received.flatMap((e) => (e.kind === 'records' ? e.values.map((v) => (v as { id: number }).id) : []));
      assert.deepEqual(ids, Array.from({ length: next * 2 }, (_, i) => i));
    },
    { initialCredits: 4, maxPendingBatches: 3 },
  );
});

test('a peer with a wrong token is refused: nothing opens, the error is logged, the producer learns why', async () => {
  await withPlanes(1, async ([consumer], [consumerLog]) => {
    const channel = inputChannel('guarded');
    consumer!.registerInput('job/1/0', channel);
    const intruderLog = new InMemoryLogger();
    const intruder = await DataPlane.create({ host: '127.0.0.1', port: 0, token: 'not-the-token', workerId: 'intruder', logger: intruderLog });
    try {
      const failures: Array<{ error: Error; keys: string[] }> = [];
      intruder.onChannelFailure((error, keys) => failures.push({ error, keys }));
      const output = intruder.openOutput('job/1/0', consumer!.address);
      output.push(batch(0, 1));
      await waitFor('the refusal', 5_000, () => failures.length === 1);
      assert.deepEqual(failures[0]!.keys, ['job/1/0']);
      assert.match(failures[0]!.error.message, /wrong cluster token/);
      assert.throws(() => output.push(batch(1, 1)), DataPlaneError);
      assert.ok(errors(consumerLog!).some((line) => /wrong cluster token/.test(line) && /intruder/.test(line)), errors(consumerLog!).join('\n'));
      await waitFor('the refused connection to close', 5_000, () => consumer!.getStatus().connections === 0);
      assert.equal(channel.isEmpty, true);
      assert.equal(consumerLog!.lines.some((line) => JSON.stringify(line).includes('not-the-token')), false, 'tokens are not logged');
    } finally {
      await intruder.close();
    }
  });
});

/** A raw TCP client speaking the protocol by hand, to send what a DataPlane never would. */
async function rawPeer(address: string): Promise<{ socket: Socket; closed: Promise<void>; received: () => Buffer }> {
  const [host, port] = address.split(':');
  const socket = connect(Number(port), host!);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, closed, received: () => Buffer.concat(chunks) };
}

test('a malformed frame closes only that connection, with an error naming the peer', async () => {
  await withPlanes(2, async ([producer, consumer], [, consumerLog]) => {
    const channel = inputChannel('good');
    consumer!.registerInput('job/1/good', channel);
    const output = producer!.openOutput('job/1/good', consumer!.address);
    output.push(batch(0, 2));
    const received: ChannelEvent[] = [];
    await waitFor('the first batch', 5_000, () => takeAll(channel, received).length === 1);

    const badFrames: Array<[string, Buffer[], RegExp]> = [
      ['unknown frame type', [Buffer.from([1, 0, 0, 0, 99])], /unknown frame type 99/],
      ['a frame over maxFrameBytes', [Buffer.from([0xff, 0xff, 0xff, 0x0f, 4])], /more than maxFrameBytes/],
      ['an event for an unknown channel', [encodeEventFrame(77, encodeChannelEvent({ kind: 'end' }))], /unknown channel 77/],
      ['records without credit', [encodeOpenFrame(1, 'job/1/unregistered'), encodeEventFrame(1, encodeChannelEvent(batch(0, 1)))], /before any credit/],
      ['an undecodable event', [encodeOpenFrame(1, 'job/1/other'), encodeEventFrame(1, Buffer.from([1, 2]))], /records event shorter than its header/],
      ['a CREDIT on an incoming connection', [encodeCreditFrame(1, 1)], /CREDIT frame on a connection that carries this worker's inputs/],
    ];
    consumer!.registerInput('job/1/other', inputChannel('other'));
    for (const [name, frames, expected] of badFrames) {
      const peer = await rawPeer(consumer!.address);
      peer.socket.write(Buffer.concat([encodeHelloFrame(TOKEN, `raw-${name}`), ...frames]));
      await peer.closed;
      assert.ok(errors(consumerLog!).some((line) => expected.test(line) && line.includes(`raw-${name}`)), `${name}: ${errors(consumerLog!).join('\n')}`);
      assert.match(peer.received().toString('latin1'), expected, `${name}: the peer is told why`);
    }
    const garbage = await rawPeer(consumer!.address);
    garbage.socket.write('GET / HTTP/1.1\r\n\r\n');
    await garbage.closed;

    // The good connection is untouched.
    output.push(batch(2, 2));
    output.push({ kind: 'end' });
    await waitFor('the rest of the good channel', 5_000, () => takeAll(channel, received).at(-1)?.kind === 'end');
    assert.deepEqual(received, [batch(0, 2), batch(2, 2), { kind: 'end' }]);
    assert.equal(producer!.getStatus().connections, 1);
  });
});

test('a connection without a handshake is closed after handshakeTimeoutMs', async () => {
  await withPlanes(
    1,
    async ([consumer], [log]) => {
      const silent = await rawPeer(consumer!.address);
      await silent.closed;
      assert.ok(errors(log!).some((line) => /no handshake/.test(line)));
    },
    { handshakeTimeoutMs: 50 },
  );
});

test('a producer that goes away mid-stream is reported on the consumer; one that ended is not', async () => {
  await withPlanes(1, async ([consumer]) => {
    const failures: Array<{ error: Error; keys: string[] }> = [];
    consumer!.onChannelFailure((error, keys) => failures.push({ error, keys }));
    const finished = inputChannel('finished');
    const live = inputChannel('live');
    consumer!.registerInput('job/1/finished', finished);
    consumer!.registerInput('job/1/live', live);
    const producer = await DataPlane.create({ host: '127.0.0.1', port: 0, token: TOKEN, workerId: 'doomed', logger: new InMemoryLogger() });
    const done = producer.openOutput('job/1/finished', consumer!.address);
    const going = producer.openOutput('job/1/live', consumer!.address);
    done.push(batch(0, 1));
    done.push({ kind: 'end' });
    going.push(batch(0, 1));
    const finishedEvents: ChannelEvent[] = [];
    await waitFor('both channels to deliver', 5_000, () => takeAll(finished, finishedEvents).at(-1)?.kind === 'end' && live.queuedRecords === 1);
    await producer.close();
    await waitFor('the failure report', 5_000, () => failures.length === 1);
    assert.deepEqual(failures[0]!.keys, ['job/1/live']);
    assert.match(failures[0]!.error.message, /"doomed"/);
  });
});

test('a consumer process killed mid-stream is reported on the producer, naming the peer and the channels', async () => {
  await withPlanes(1, async ([producer]) => {
    const dataPlaneModule = new URL('./data-plane.ts', import.meta.url).pathname;
    const exchangeModule = new URL('../runtime/exchange.ts', import.meta.url).pathname;
    const loggingModule = new URL('../../shared/logging.ts', import.meta.url).pathname;
    const script = `
      import { DataPlane } from ${JSON.stringify(dataPlaneModule)};
      import { InputChannel } from ${JSON.stringify(exchangeModule)};
      import { InMemoryLogger } from ${JSON.stringify(loggingModule)};
      const plane = await DataPlane.create({ host: '127.0.0.1', port: 0, token: ${JSON.stringify(TOKEN)}, workerId: 'victim', logger: new InMemoryLogger() });
      plane.registerInput('job/1/a', new InputChannel(0, 'a', () => {}));
      plane.registerInput('job/1/b', new InputChannel(0, 'b', () => {}));
      console.log(plane.address);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        child.once('exit', (code) => reject(new Error(`the consumer process exited with ${code} before it listened`)));
      });
      const failures: Array<{ error: Error; keys: string[] }> = [];
      producer!.onChannelFailure((error, keys) => failures.push({ error, keys }));
      const a = producer!.openOutput('job/1/a', address);
      const b = producer!.openOutput('job/1/b', address);
      await waitFor('credit from the consumer process', 15_000, () => a.credits > 0 && b.credits > 0);
      a.push(batch(0, 1));
      child.kill('SIGKILL');
      await waitFor('the failure report', 5_000, () => failures.length === 1);
      assert.deepEqual(failures[0]!.keys.sort(), ['job/1/a', 'job/1/b']);
      assert.match(failures[0]!.error.message, /"victim"/);
      assert.match(failures[0]!.error.message, new RegExp(address.replace(/\./g, '\\.')));
      assert.throws(() => a.push(batch(1, 1)), /victim/);
      assert.equal(producer!.getStatus().outputs, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

test('releaseChannels forgets a job attempt on both sides; late frames are dropped quietly', async () => {
  await withPlanes(2, async ([producer, consumer], logs) => {
    const old = inputChannel('old');
    const current = inputChannel('current');
    consumer!.registerInput('job/1/x', old);
    consumer!.registerInput('job/2/x', current);
    const oldOut = producer!.openOutput('job/1/x', consumer!.address);
    const currentOut = producer!.openOutput('job/2/x', consumer!.address);
    await waitFor('credit', 5_000, () => oldOut.credits > 0 && currentOut.credits > 0);

    consumer!.releaseChannels('job/1/');
    assert.equal(consumer!.getStatus().inputs, 1);
    oldOut.push(batch(0, 1)); // late: the producer does not know yet
    currentOut.push(batch(0, 1));
    await waitFor('the current attempt', 5_000, () => current.queuedRecords === 1);
    assert.equal(old.isEmpty, true);

    producer!.releaseChannels('job/1/');
    assert.equal(producer!.getStatus().outputs, 1);
    oldOut.push(batch(1, 1)); // a released channel swallows what it is given
    assert.equal(oldOut.writable, true);
    currentOut.push({ kind: 'end' });
    const received: ChannelEvent[] = [];
    await waitFor('the end of the current attempt', 5_000, () => takeAll(current, received).at(-1)?.kind === 'end');
    assert.deepEqual(received, [batch(0, 1), { kind: 'end' }]);
    assert.equal(old.isEmpty, true);
    for (const log of logs) assert.deepEqual(errors(log), []);
    assert.equal(consumer!.getStatus().connections, 1);

    // A new attempt may reuse the keys once they are released on both sides.
    const again = inputChannel('again');
    consumer!.registerInput('job/1/x', again);
    const againOut = producer!.openOutput('job/1/x', consumer!.address);
    againOut.push(batch(5, 1));
    await waitFor('the reused key', 5_000, () => again.queuedRecords === 1);
  });
});

test('a peer that is not listening is reported as a channel failure', async () => {
  await withPlanes(2, async ([producer, gone]) => {
    const address = gone!.address;
    await gone!.close();
    const failures: Array<{ error: Error; keys: string[] }> = [];
    producer!.onChannelFailure((error, keys) => failures.push({ error, keys }));
    const output = producer!.openOutput('job/1/nowhere', address);
    output.push(batch(0, 1));
    await waitFor('the failure report', 5_000, () => failures.length === 1);
    assert.deepEqual(failures[0]!.keys, ['job/1/nowhere']);
    assert.match(failures[0]!.error.message, new RegExp(`${address.replace(/\./g, '\\.')}.*ECONNREFUSED`));
    assert.equal(producer!.getStatus().connections, 0);
  });
});

test('options are validated, naming the field', async () => {
  await assert.rejects(
    DataPlane.create({ host: '127.0.0.1', port: 0, token: '', workerId: 'w', logger: new InMemoryLogger() }),
    /token: the data plane needs the cluster token/,
  );
  await assert.rejects(
    DataPlane.create({ host: '127.0.0.1', port: 0, token: TOKEN, workerId: 'w', logger: new InMemoryLogger(), initialCredits: 0 }),
    /initialCredits/,
  );
  await withPlanes(1, async ([plane]) => {
    assert.throws(() => plane!.openOutput('k', 'no-port'), /not a data-plane address/);
    plane!.registerInput('k', inputChannel('k'));
    assert.throws(() => plane!.registerInput('k', inputChannel('k')), /already registered/);
  });
});
