// One TCP connection of the data plane, either way: the HELLO handshake (protocol version and
// cluster token, checked in constant time), frame parsing, writes coalesced per event-loop turn
// (cork until the next tick, so a burst of frames leaves in one writev), the socket's own
// backpressure ('drain'), and one orderly end: whatever goes wrong — a bad frame, a wrong token, a
// socket error, the peer going away — is logged naming the peer and reported once through
// `onClosed`, and never escapes to crash the process.

import type { Socket } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Cancellable, Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logging.ts';
import { errorChainMessage } from '../../shared/errors.ts';
import { encodeErrorFrame, encodeHelloFrame, FrameError, FrameParser, PROTOCOL_VERSION, type Frame } from './frame.ts';

/** Outgoing connections carry this worker's outputs; incoming ones carry its inputs. */
export type ConnectionRole = 'outgoing' | 'incoming';

export interface PeerConnectionSettings {
  readonly token: string;
  readonly workerId: string;
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface PeerConnectionHandler {
  /** The peer proved it holds the cluster token. */
  onReady(connection: PeerConnection): void;
  /** A frame after the handshake (never HELLO or ERROR). Throwing closes the connection. */
  onFrame(connection: PeerConnection, frame: Frame): void;
  /** The socket can take writes again after a write filled its buffer. */
  onDrain(connection: PeerConnection): void;
  /** Called once. `error` is undefined when this side closed the connection on purpose. */
  onClosed(connection: PeerConnection, error: Error | undefined): void;
  /** Counts bytes, for the status. */
  onBytes(bytesIn: number, bytesOut: number): void;
}

function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class PeerConnection {
  /** "worker w2 at 127.0.0.1:7001" once the peer said who it is; its socket address before. */
  peerName: string;
  peerWorkerId: string | undefined;
  ready = false;
  closed = false;
  /** False between a write that filled the socket's buffer and the next 'drain'. */
  socketWritable = true;
  private readonly parser: FrameParser;
  private readonly tokenDigest: Buffer;
  private corked = false;
  private handshakeTimer: Cancellable | undefined;
  /** The first reason the connection ended; later ones are shutdown noise. */
  private closeReason: Error | undefined;
  private closedOnPurpose = false;

  constructor(
    readonly socket: Socket,
    readonly role: ConnectionRole,
    /** For outgoing connections, the address dialled ("host:port"). */
    readonly address: string,
    private readonly settings: PeerConnectionSettings,
    private readonly handler: PeerConnectionHandler,
  ) {
    this.peerName = role === 'outgoing' ? `the worker at ${address}` : `${socket.remoteAddress}:${socket.remotePort}`;
    this.parser = new FrameParser(settings.maxFrameBytes);
    this.tokenDigest = tokenDigest(settings.token);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => {
      this.socketWritable = true;
      if (!this.closed) this.handler.onDrain(this);
    });
    socket.on('error', (error) => {
      this.closeReason ??= new Error(`connection to ${this.peerName} failed: ${error.message}`, { cause: error });
    });
    socket.on('end', () => {
      this.closeReason ??= new Error(`${this.peerName} closed the connection`);
    });
    socket.on('close', () => this.onSocketClosed());
    this.handshakeTimer = settings.clock.schedule(settings.handshakeTimeoutMs, () => {
      if (!this.ready) this.failProtocol(`no handshake from ${this.peerName} within ${settings.handshakeTimeoutMs} ms`);
    });
    // The dialling side speaks first; the listening side answers once it has checked the token.
    if (role === 'outgoing') this.send(encodeHelloFrame(settings.token, settings.workerId));
  }

  /** Queues a frame; returns false when the socket's buffer is full (wait for onDrain). */
  send(frame: Buffer): boolean {
    if (this.closed) return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.handler.onBytes(0, frame.length);
    if (!this.socket.write(frame)) this.socketWritable = false;
    return this.socketWritable;
  }

  /** Ends the connection on purpose: what is written is flushed, nothing is reported as a failure. */
  close(): void {
    if (this.closed) return;
    this.closedOnPurpose = true;
    if (this.socket.connecting) this.socket.destroy();
    else this.socket.destroySoon();
  }

  /**
   * Ends the connection because of something the peer did: logs it naming the peer, tells the
   * peer why (best effort) and reports it through onClosed.
   */
  failProtocol(message: string, cause?: unknown): void {
    if (this.closed || this.closeReason !== undefined) return;
    const error = new FrameError(`closing the connection to ${this.peerName}: ${message}`, cause === undefined ? {} : { cause });
    this.closeReason = error;
    this.settings.logger.error('data plane: bad peer, closing its connection', {
      peer: this.peerName,
      role: this.role,
      error: errorChainMessage(error),
    });
    if (this.socket.connecting) {
      this.socket.destroy(); // nobody to tell yet, and a connect that hangs must not keep it open
      return;
    }
    this.socket.write(encodeErrorFrame(message));
    this.socket.destroySoon();
  }

  private receive(chunk: Buffer): void {
    if (this.closed || this.closeReason !== undefined) return;
    this.handler.onBytes(chunk.length, 0);
    try {
      this.parser.push(chunk, (frame) => {
        if (this.closeReason === undefined) this.dispatch(frame);
      });
    } catch (error) {
      this.failProtocol(error instanceof Error ? error.message : String(error), error);
    }
  }

  private dispatch(frame: Frame): void {
    if (frame.type === 'error') {
      this.closeReason = new Error(`${this.peerName} closed the connection: ${frame.message}`);
      this.settings.logger.error('data plane: peer reported an error and closed the connection', { peer: this.peerName, error: frame.message });
      this.socket.destroy();
      return;
    }
    if (frame.type === 'hello') {
      this.handshake(frame);
      return;
    }
    if (!this.ready) throw new FrameError(`a ${frame.type.toUpperCase()} frame before the handshake`);
    this.handler.onFrame(this, frame);
  }

  private handshake(hello: Extract<Frame, { type: 'hello' }>): void {
    if (this.ready) throw new FrameError('a second HELLO frame');
    this.peerWorkerId = hello.workerId;
    this.peerName =
      this.role === 'outgoing'
        ? `worker ${JSON.stringify(hello.workerId)} at ${this.address}`
        : `worker ${JSON.stringify(hello.workerId)} from ${this.socket.remoteAddress}:${this.socket.remotePort}`;
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      this.failProtocol(`refused: data-plane protocol version ${hello.protocolVersion}, this worker speaks ${PROTOCOL_VERSION}`);
      return;
    }
    if (!timingSafeEqual(tokenDigest(hello.token), this.tokenDigest)) {
      this.failProtocol(hello.token === '' ? 'refused: no cluster token' : 'refused: wrong cluster token');
      return;
    }
    this.ready = true;
    this.handshakeTimer?.cancel();
    this.handshakeTimer = undefined;
    if (this.role === 'incoming') this.send(encodeHelloFrame(this.settings.token, this.settings.workerId));
    this.handler.onReady(this);
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.handshakeTimer?.cancel();
    const error = this.closedOnPurpose && !(this.closeReason instanceof FrameError) ? undefined : (this.closeReason ?? new Error(`the connection to ${this.peerName} closed`));
    this.handler.onClosed(this, error);
  }
}
