// gRPC plumbing for the control plane: loads proto/sluice.proto, wraps handlers so that every
// call is authenticated by the cluster token, every error maps to one status code in one place,
// and no handler failure (or malformed message) can crash the process; and a client that turns
// calls into promises with deadlines, carrying the token and the caller's leader epoch.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  ApplicationLoadError,
  AuthenticationError,
  InvalidRequestError,
  NotFoundError,
  NotLeaderError,
  RestoreError,
  SluiceError,
  StaleEpochError,
  errorChainMessage,
  errorStatusOf,
  type ErrorStatus,
} from '../errors.ts';
import type { Logger } from '../logging.ts';

export const PROTO_PATH = fileURLToPath(new URL('../../proto/sluice.proto', import.meta.url));
export const EPOCH_METADATA = 'sluice-epoch';

let cachedPackage: grpc.GrpcObject | undefined;

function sluicePackage(): grpc.GrpcObject {
  if (!cachedPackage) {
    const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
    const root = grpc.loadPackageDefinition(definition) as any;
    cachedPackage = root.sluice.v1 as grpc.GrpcObject;
  }
  return cachedPackage;
}

export type ServiceName = 'CoordinatorGateway' | 'WorkerGateway';

export function serviceDefinition(name: ServiceName): grpc.ServiceDefinition {
  return (sluicePackage()[name] as grpc.ServiceClientConstructor).service;
}

/** What a handler knows of the call beyond its request. */
export interface CallContext {
  /** The caller's leader epoch, when it sent one. */
  readonly epoch: number | undefined;
  readonly peer: string;
}

export type UnaryHandler = (request: any, context: CallContext) => Promise<unknown>;

const GRPC_STATUS: Readonly<Record<ErrorStatus, grpc.status>> = {
  unauthenticated: grpc.status.UNAUTHENTICATED,
  'not-found': grpc.status.NOT_FOUND,
  'not-leader': grpc.status.FAILED_PRECONDITION,
  'stale-epoch': grpc.status.FAILED_PRECONDITION,
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
};

/** The gRPC status of an error: shared/errors.ts's table, as the REST API's httpStatusOf reads it too. */
export function statusOf(error: unknown): grpc.status {
  return GRPC_STATUS[errorStatusOf(error)];
}

/** The error class a status code (and the server's error name) stands for, on the client side. */
function errorOf(method: string, serviceError: grpc.ServiceError): SluiceError {
  const name = serviceError.metadata?.get('sluice-error')[0]?.toString();
  const message = `${method}: ${serviceError.details || serviceError.message}`;
  switch (serviceError.code) {
    case grpc.status.UNAUTHENTICATED:
      return new AuthenticationError(message);
    case grpc.status.NOT_FOUND:
      return new NotFoundError(message);
    case grpc.status.FAILED_PRECONDITION:
      return name === 'NotLeaderError' || name === 'FencedError' ? new NotLeaderError(message) : new StaleEpochError(message);
    case grpc.status.INVALID_ARGUMENT:
      if (name === 'ApplicationLoadError') return new ApplicationLoadError(message);
      return name === 'RestoreError' ? new RestoreError(message) : new InvalidRequestError(message);
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.CANCELLED:
      return new RpcUnavailableError(message, { cause: serviceError });
    default:
      return new SluiceError(message, { cause: serviceError });
  }
}

/** The peer could not be reached or did not answer in time. */
export class RpcUnavailableError extends SluiceError {
  override readonly domain = 'external' as const;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

export function tokenMatches(expected: string | undefined, presented: string | undefined): boolean {
  if (expected === undefined) return true;
  if (presented === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` value. */
export function bearerToken(value: string | undefined): string | undefined {
  const match = value === undefined ? null : /^Bearer\s+(\S+)$/i.exec(value);
  return match ? match[1] : undefined;
}

export interface RpcServerOptions {
  readonly host: string;
  readonly port: number;
  /** undefined: unauthenticated (only when the operator allowed it explicitly). */
  readonly token: string | undefined;
  readonly logger: Logger;
  readonly services: ReadonlyArray<{ readonly name: ServiceName; readonly handlers: Record<string, UnaryHandler> }>;
}

export class RpcServer {
  private constructor(private readonly server: grpc.Server, readonly address: string) {}

  static async start(options: RpcServerOptions): Promise<RpcServer> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    for (const service of options.services) {
      const definition = serviceDefinition(service.name);
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const method of Object.keys(definition)) {
        const handler = service.handlers[method] ?? service.handlers[method.charAt(0).toLowerCase() + method.slice(1)];
        if (!handler) throw new Error(`${service.name}.${method} has no handler`);
        implementation[method] = wrapUnary(`${service.name}.${method}`, handler, options);
      }
      server.addService(definition, implementation);
    }
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    return new RpcServer(server, `${options.host}:${port}`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function wrapUnary(method: string, handler: UnaryHandler, options: RpcServerOptions): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const fail = (error: unknown) => {
      const metadata = new grpc.Metadata();
      metadata.set('sluice-error', error instanceof Error ? error.name : 'Error');
      const code = statusOf(error);
      if (code === grpc.status.INTERNAL) options.logger.error('rpc handler failed', { method, peer: call.getPeer(), error: errorChainMessage(error) });
      callback({ code, details: errorChainMessage(error), metadata });
    };
    try {
      const presented = bearerToken(call.metadata.get('authorization')[0]?.toString());
      if (!tokenMatches(options.token, presented)) {
        options.logger.warn('rpc refused: wrong or missing cluster token', { method, peer: call.getPeer() });
        fail(new AuthenticationError(presented === undefined ? 'missing cluster token' : 'wrong cluster token'));
        return;
      }
      const epochText = call.metadata.get(EPOCH_METADATA)[0]?.toString();
      const epoch = epochText === undefined ? undefined : Number(epochText);
      if (epoch !== undefined && !Number.isSafeInteger(epoch)) {
        fail(new InvalidRequestError(`metadata ${EPOCH_METADATA} must be an integer, got "${epochText}"`));
        return;
      }
      handler(call.request, { epoch, peer: call.getPeer() }).then((response) => callback(null, response ?? {}), fail);
    } catch (error) {
      fail(error);
    }
  };
}

export interface RpcClientOptions {
  readonly token: string | undefined;
  readonly defaultDeadlineMs?: number;
}

/** A client of one service at one address; every call is a promise with a deadline. */
export class RpcClient {
  private readonly client: grpc.Client;

  constructor(service: ServiceName, readonly address: string, private readonly options: RpcClientOptions) {
    const Constructor = sluicePackage()[service] as grpc.ServiceClientConstructor;
    this.client = new Constructor(address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  call<T = Record<string, unknown>>(method: string, request: object, options: { epoch?: number; deadlineMs?: number } = {}): Promise<T> {
    const metadata = new grpc.Metadata();
    if (this.options.token !== undefined) metadata.set('authorization', `Bearer ${this.options.token}`);
    if (options.epoch !== undefined) metadata.set(EPOCH_METADATA, String(options.epoch));
    const deadline = Date.now() + (options.deadlineMs ?? this.options.defaultDeadlineMs ?? 5000);
    const fn = (this.client as any)[method] as Function | undefined;
    if (typeof fn !== 'function') return Promise.reject(new Error(`unknown rpc method ${method}`));
    return new Promise<T>((resolve, reject) => {
      fn.call(this.client, request, metadata, { deadline }, (error: grpc.ServiceError | null, response: T) => {
        if (error) reject(errorOf(method, error));
        else resolve(response);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
