// The data plane between workers (ARCHITECTURE.md, decision 7): keyed exchanges between subtasks
// on different workers travel as batched binary frames over TCP, with credit-based flow control as
// in Flink's credit-based shuffle. Each worker runs one DataPlane: it listens for its peers'
// producers (incoming connections feed the InputChannels its tasks registered) and dials the
// workers its own producers send to (one outgoing connection per peer address, shared by every
// channel to it). A consumer grants `initialCredits` batches per channel when it registers the
// channel and returns credit as its task takes batches, so a slow consumer stops its producers and
// memory stays bounded however fast the source is.
//
// Every connection starts with a HELLO carrying the cluster token; a peer without it is refused.
// Anything a peer gets wrong closes that one connection with a logged error naming the peer; a
// connection lost while it carries live channels is reported to onChannelFailure listeners.

import { createServer, Socket, type Server, type SocketConstructorOpts } from 'node:net';
import { z } from 'zod';
import { SystemClock, type Clock } from '../../shared/clock.ts';
import { configurationErrorFromZod } from '../../shared/config/configuration-error-from-zod.ts';
import { ConfigurationError, errorChainMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { InputChannel } from '../runtime/exchange.ts';
import { DEFAULT_MAX_FRAME_BYTES, EVENT_FRAME_HEADER_BYTES, FrameError, encodeCreditFrame, type Frame } from './frame.ts';
import { PeerConnection, type PeerConnectionHandler, type PeerConnectionSettings } from './peer-connection.ts';
import { ChannelEventDecoder, ChannelEventEncoder } from './record-batch-codec.ts';
import { DataPlaneError, DefaultRemoteOutputChannel, type RemoteOutputChannel } from './remote-output-channel.ts';

export { DataPlaneError, type RemoteOutputChannel } from './remote-output-channel.ts';

export interface DataPlaneOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** The cluster token every peer must present in its HELLO. */
  readonly token: string;
  readonly workerId: string;
  readonly logger: Logger;
  /** Batches a consumer channel accepts before returning credit (Flink: buffers per channel). Default 8. */
  readonly initialCredits?: number;
  /** Encoded batches a producer may queue without credit before it reports !writable. Default 8. */
  readonly maxPendingBatches?: number;
  /** Largest frame accepted or sent, header included. Default 64 MiB. */
  readonly maxFrameBytes?: number;
  /** A connection that has not completed its HELLO exchange by then is closed. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** For the handshake timeout. Default: the system clock. */
  readonly clock?: Clock;
}

const optionsSchema = z.object({
  host: z.string().min(1, 'the data plane needs a host to listen on'),
  port: z.number().int().min(0).max(65535),
  token: z.string().min(1, 'the data plane needs the cluster token'),
  workerId: z.string().min(1, 'the data plane needs the worker id'),
  initialCredits: z.number().int().min(1).max(0xffff).default(8),
  maxPendingBatches: z.number().int().min(1).default(8),
  maxFrameBytes: z.number().int().min(1024).max(0xffffffff).default(DEFAULT_MAX_FRAME_BYTES),
  handshakeTimeoutMs: z.number().int().min(1).default(10_000),
});

type ResolvedDataPlaneOptions = Readonly<z.infer<typeof optionsSchema>> & { readonly logger: Logger; readonly clock: Clock };

function resolveDataPlaneOptions(options: DataPlaneOptions): ResolvedDataPlaneOptions {
  const parsed = optionsSchema.safeParse({
    host: options.host,
    port: options.port,
    token: options.token,
    workerId: options.workerId,
    initialCredits: options.initialCredits,
    maxPendingBatches: options.maxPendingBatches,
    maxFrameBytes: options.maxFrameBytes,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
  });
  if (!parsed.success) throw configurationErrorFromZod(parsed.error);
  return { ...parsed.data, logger: options.logger, clock: options.clock ?? SystemClock.INSTANCE };
}

export interface DataPlaneStatus {
  readonly connections: number;
  readonly inputs: number;
  readonly outputs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly pendingBatches: number;
}

export type ChannelFailureListener = (error: Error, channelKeys: string[]) => void;

/** A consumer channel opened by a producer on an incoming connection. */
interface InputBinding {
  readonly channelKey: string;
  readonly channelId: number;
  readonly connection: PeerConnection;
  /** Undefined until the key is registered here, and again once released. */
  input: InputChannel | undefined;
  /** Records batches the producer may have sent: initial credit plus every credit returned. */
  granted: number;
  received: number;
  /** Batches taken since credit was last returned. */
  takenSinceCredit: number;
  ended: boolean;
}

/** What one connection carries, by channel id. */
interface ConnectionChannels {
  /** Outgoing: this worker's producers' channels, by the ids it chose. */
  readonly outputs: Map<number, DefaultRemoteOutputChannel>;
  nextChannelId: number;
  /** Where onDrain starts, so no channel starves the others of the socket. */
  drainFrom: number;
  /** Incoming: the peer's producers' channels into this worker, by the ids the peer chose. */
  readonly bindings: Map<number, InputBinding>;
}

export class DataPlane {
  readonly address: string;
  private readonly outgoing = new Map<string, PeerConnection>();
  private readonly incoming = new Set<PeerConnection>();
  private readonly channelsOf = new Map<PeerConnection, ConnectionChannels>();
  private readonly inputs = new Map<string, InputChannel>();
  /** Channel key → the binding feeding it (or waiting for the key to be registered). */
  private readonly bindings = new Map<string, InputBinding>();
  private readonly outputs = new Map<string, DefaultRemoteOutputChannel>();
  private readonly failureListeners: ChannelFailureListener[] = [];
  private readonly encoder = new ChannelEventEncoder(EVENT_FRAME_HEADER_BYTES);
  private readonly decoder = new ChannelEventDecoder();
  private readonly connectionSettings: PeerConnectionSettings;
  private readonly connectionHandler: PeerConnectionHandler;
  private readonly creditReturnBatch: number;
  private readonly log: Logger;
  private bytesIn = 0;
  private bytesOut = 0;
  private closing = false;
  private closed: Promise<void> | undefined;

  static async create(options: DataPlaneOptions): Promise<DataPlane> {
    const resolved = resolveDataPlaneOptions(options);
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(resolved.port, resolved.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as { port: number }).port;
    const plane = new DataPlane(resolved, server, `${formatHost(resolved.host)}:${port}`);
    plane.log.info('data plane listening', {
      address: plane.address,
      initialCredits: resolved.initialCredits,
      maxPendingBatches: resolved.maxPendingBatches,
      maxFrameBytes: resolved.maxFrameBytes,
      handshakeTimeoutMs: resolved.handshakeTimeoutMs,
    });
    return plane;
  }

  private constructor(private readonly options: ResolvedDataPlaneOptions, private readonly server: Server, address: string) {
    this.address = address;
    this.log = options.logger.child({ component: 'data-plane', workerId: options.workerId });
    // Return credit in batches of half the window, not a frame per batch taken.
    this.creditReturnBatch = Math.max(1, Math.ceil(options.initialCredits / 2));
    this.connectionSettings = {
      token: options.token,
      workerId: options.workerId,
      maxFrameBytes: options.maxFrameBytes,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      clock: options.clock,
      logger: this.log,
    };
    this.connectionHandler = {
      onReady: (connection) => this.log.debug('data plane connection ready', { peer: connection.peerName, role: connection.role }),
      onFrame: (connection, frame) => this.onFrame(connection, frame),
      onDrain: (connection) => this.onDrain(connection),
      onClosed: (connection, error) => this.onConnectionClosed(connection, error),
      onBytes: (bytesIn, bytesOut) => {
        this.bytesIn += bytesIn;
        this.bytesOut += bytesOut;
      },
    };
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (error) => this.log.error('data plane server error', { error: errorChainMessage(error) }));
  }

  /**
   * Consumer side: events for channelKey are decoded and pushed into `channel`; credit is returned
   * as the consumer takes records batches from it. Events that arrived before registration are
   * not accepted: the producer has no credit until then.
   */
  registerInput(channelKey: string, channel: InputChannel): void {
    this.checkOpen();
    if (this.inputs.has(channelKey)) throw new DataPlaneError(`input channel ${channelKey} is already registered`);
    this.inputs.set(channelKey, channel);
    const binding = this.bindings.get(channelKey);
    if (binding !== undefined && binding.input === undefined) this.bind(binding, channel);
  }

  /**
   * Producer side: a ChannelTarget that ships events to the worker listening at `address`
   * ("host:port"). Records batches need one credit each; watermark, idle, barrier and end events
   * need none but never overtake queued records. `onWritable` is called when a channel that was
   * not writable can take more (and when it fails, so a paused producer learns of it on its next push).
   */
  openOutput(channelKey: string, address: string, onWritable?: () => void): RemoteOutputChannel {
    this.checkOpen();
    if (this.outputs.has(channelKey)) throw new DataPlaneError(`output channel ${channelKey} is already open`);
    const connection = this.outgoing.get(address) ?? this.dial(address);
    const channels = this.channelsOf.get(connection)!;
    const channelId = channels.nextChannelId++;
    const channel = new DefaultRemoteOutputChannel(channelKey, channelId, connection, this.encoder, this.options, onWritable);
    channels.outputs.set(channelId, channel);
    this.outputs.set(channelKey, channel);
    return channel;
  }

  /** Forgets every input and output channel whose key starts with `prefix` (a cancelled job attempt); late frames for them are dropped quietly. */
  releaseChannels(prefix: string): void {
    for (const [key, channel] of this.outputs) {
      if (!key.startsWith(prefix)) continue;
      channel.release();
      this.outputs.delete(key);
      this.channelsOf.get(channel.connection)?.outputs.delete(channel.channelId);
    }
    for (const [key, input] of this.inputs) {
      if (!key.startsWith(prefix)) continue;
      input.onRecordsTaken = undefined;
      this.inputs.delete(key);
    }
    for (const [key, binding] of this.bindings) {
      if (!key.startsWith(prefix)) continue;
      // The binding stays on its connection, without an input, until the producer closes the
      // channel: its late events are dropped there.
      binding.input = undefined;
      this.bindings.delete(key);
    }
  }

  /** Called when a connection carrying live channels fails (peer died): names the peer and the channel keys. */
  onChannelFailure(listener: ChannelFailureListener): void {
    this.failureListeners.push(listener);
  }

  getStatus(): DataPlaneStatus {
    let pendingBatches = 0;
    for (const channel of this.outputs.values()) pendingBatches += channel.pendingBatches;
    return {
      connections: this.outgoing.size + this.incoming.size,
      inputs: this.inputs.size,
      outputs: this.outputs.size,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      pendingBatches,
    };
  }

  /** Stops listening and closes every connection; channels still open are not reported as failures. */
  close(): Promise<void> {
    this.closed ??= this.closeNow();
    return this.closed;
  }

  private async closeNow(): Promise<void> {
    this.closing = true;
    const connections = [...this.outgoing.values(), ...this.incoming];
    const closed = connections.map((connection) => new Promise<void>((resolve) => {
      if (connection.closed) resolve();
      else connection.socket.once('close', () => resolve());
    }));
    for (const connection of connections) connection.close();
    await Promise.all([new Promise<void>((resolve) => this.server.close(() => resolve())), ...closed]);
    for (const channel of this.outputs.values()) channel.release();
    this.outputs.clear();
    this.inputs.clear();
    this.bindings.clear();
    this.log.info('data plane closed', { address: this.address });
  }

  private checkOpen(): void {
    if (this.closing) throw new DataPlaneError(`the data plane of worker ${this.options.workerId} is closed`);
  }

  private dial(address: string): PeerConnection {
    const { host, port } = parseAddress(address);
    // net.Socket passes stream options on (its typings leave them out): the default 16 KiB would
    // make every batch-sized write wait for a 'drain'.
    const socket = new Socket({ writableHighWaterMark: SOCKET_HIGH_WATER_MARK_BYTES } as SocketConstructorOpts);
    // Connecting first: the HELLO written by the connection is held until the socket connects.
    socket.connect(port, host);
    const connection = new PeerConnection(socket, 'outgoing', address, this.connectionSettings, this.connectionHandler);
    this.outgoing.set(address, connection);
    this.channelsOf.set(connection, newConnectionChannels());
    return connection;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const connection = new PeerConnection(socket, 'incoming', this.address, this.connectionSettings, this.connectionHandler);
    this.incoming.add(connection);
    this.channelsOf.set(connection, newConnectionChannels());
  }

  private onFrame(connection: PeerConnection, frame: Frame): void {
    const channels = this.channelsOf.get(connection)!;
    if (connection.role === 'outgoing') {
      if (frame.type !== 'credit') throw new FrameError(`a ${frame.type.toUpperCase()} frame on a connection that carries this worker's outputs`);
      const channel = channels.outputs.get(frame.channelId);
      if (channel !== undefined) channel.grant(frame.credits);
      // Ids below the next one were ours: a released channel, whose late credit is dropped.
      else if (frame.channelId >= channels.nextChannelId) throw new FrameError(`CREDIT for unknown channel ${frame.channelId}`);
      return;
    }
    switch (frame.type) {
      case 'open':
        this.onOpen(connection, channels, frame.channelId, frame.channelKey);
        return;
      case 'event':
        this.onEvent(channels, frame.channelId, frame.bytes, frame.start, frame.end);
        return;
      case 'close':
        this.onClose(channels, frame.channelId);
        return;
      default:
        throw new FrameError(`a ${frame.type.toUpperCase()} frame on a connection that carries this worker's inputs`);
    }
  }

  private onOpen(connection: PeerConnection, channels: ConnectionChannels, channelId: number, channelKey: string): void {
    if (channels.bindings.has(channelId)) throw new FrameError(`channel id ${channelId} opened twice`);
    const existing = this.bindings.get(channelKey);
    if (existing !== undefined) {
      throw new FrameError(`channel ${channelKey} is already open from ${existing.connection.peerName}`);
    }
    const binding: InputBinding = { channelKey, channelId, connection, input: undefined, granted: 0, received: 0, takenSinceCredit: 0, ended: false };
    channels.bindings.set(channelId, binding);
    this.bindings.set(channelKey, binding);
    const input = this.inputs.get(channelKey);
    if (input !== undefined) this.bind(binding, input);
    else this.log.debug('channel opened before its input was registered; no credit until it is', { channelKey, peer: connection.peerName });
  }

  private bind(binding: InputBinding, input: InputChannel): void {
    binding.input = input;
    input.onRecordsTaken = () => {
      if (binding.input !== input || binding.connection.closed) return;
      if (++binding.takenSinceCredit < this.creditReturnBatch) return;
      const credits = binding.takenSinceCredit;
      binding.takenSinceCredit = 0;
      binding.granted += credits;
      binding.connection.send(encodeCreditFrame(binding.channelId, credits));
    };
    binding.granted += this.options.initialCredits;
    binding.connection.send(encodeCreditFrame(binding.channelId, this.options.initialCredits));
  }

  private onEvent(channels: ConnectionChannels, channelId: number, bytes: Buffer, start: number, end: number): void {
    const binding = channels.bindings.get(channelId);
    if (binding === undefined) throw new FrameError(`an EVENT for unknown channel ${channelId}`);
    const input = binding.input;
    if (input === undefined) {
      if (binding.granted === 0) throw new FrameError(`an EVENT on channel ${binding.channelKey} before any credit`);
      return; // released here: the producer does not know yet
    }
    const event = this.decoder.decode(bytes, start, end);
    if (event.kind === 'records') {
      if (binding.received >= binding.granted) {
        throw new FrameError(`a records batch on channel ${binding.channelKey} without credit (${binding.granted} granted, all used)`);
      }
      binding.received++;
    } else if (event.kind === 'end') {
      binding.ended = true;
    }
    input.push(event);
  }

  private onClose(channels: ConnectionChannels, channelId: number): void {
    const binding = channels.bindings.get(channelId);
    if (binding === undefined) throw new FrameError(`CLOSE for unknown channel ${channelId}`);
    channels.bindings.delete(channelId);
    if (this.bindings.get(binding.channelKey) === binding) this.bindings.delete(binding.channelKey);
    if (binding.input !== undefined) binding.input.onRecordsTaken = undefined;
    binding.input = undefined;
  }

  private onDrain(connection: PeerConnection): void {
    const channels = this.channelsOf.get(connection);
    if (channels === undefined || channels.outputs.size === 0) return;
    const list = [...channels.outputs.values()];
    const from = channels.drainFrom++ % list.length;
    for (let i = 0; i < list.length && connection.socketWritable; i++) list[(from + i) % list.length]!.drain();
  }

  private onConnectionClosed(connection: PeerConnection, error: Error | undefined): void {
    const channels = this.channelsOf.get(connection)!;
    this.channelsOf.delete(connection);
    if (connection.role === 'outgoing') {
      if (this.outgoing.get(connection.address) === connection) this.outgoing.delete(connection.address);
    } else {
      this.incoming.delete(connection);
    }
    const failedKeys: string[] = [];
    const failure = error ?? new DataPlaneError(`the connection to ${connection.peerName} closed`);
    for (const channel of channels.outputs.values()) {
      if (channel.live) failedKeys.push(channel.channelKey);
      channel.fail(failure);
      if (this.outputs.get(channel.channelKey) === channel) this.outputs.delete(channel.channelKey);
    }
    for (const binding of channels.bindings.values()) {
      if (binding.input !== undefined && !binding.ended) failedKeys.push(binding.channelKey);
      if (binding.input !== undefined) binding.input.onRecordsTaken = undefined;
      if (this.bindings.get(binding.channelKey) === binding) this.bindings.delete(binding.channelKey);
    }
    if (error === undefined || this.closing) return;
    if (failedKeys.length === 0) {
      this.log.debug('data plane connection closed', { peer: connection.peerName, reason: error.message });
      return;
    }
    this.log.warn('data plane connection lost with live channels', { peer: connection.peerName, channels: failedKeys, error: errorChainMessage(error) });
    for (const listener of this.failureListeners) {
      try {
        listener(failure, failedKeys);
      } catch (listenerError) {
        this.log.error('a channel failure listener threw', { error: errorChainMessage(listenerError) });
      }
    }
  }
}

/** The socket buffer an outgoing connection fills before it waits for 'drain'. */
const SOCKET_HIGH_WATER_MARK_BYTES = 1024 * 1024;

function newConnectionChannels(): ConnectionChannels {
  return { outputs: new Map(), nextChannelId: 1, drainFrom: 0, bindings: new Map() };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) throw new ConfigurationError('address', `${JSON.stringify(address)} is not a data-plane address "host:port"`);
  return { host: match[1] ?? match[2]!, port };
}
