// gRPC plumbing for the control plane: loads proto/sluice.proto, wraps handlers so that every
// call is authenticated by the cluster token, every error maps to one status code in one place,
// and no handler failure (or malformed message) can crash the process; and a client that turns
// calls into promises with deadlines, carrying the token and the caller's leader epoch. Both are
// typed by a service's method map (worker-gateway.ts, coordinator-gateway.ts): a caller and a
// handler see each method's request and response as proto-loader decodes them.

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

/**
 * How proto-loader turns messages into objects, which the gateways' TypeScript types follow:
 * lowerCamelCase fields, int64 as number, every field present (a scalar's default, [] for a
 * repeated field, {} for a map, null for an absent message field).
 */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

export type ServiceName = 'CoordinatorGateway' | 'WorkerGateway';

let cachedDefinition: protoLoader.PackageDefinition | undefined;

export function serviceDefinition(name: ServiceName): grpc.ServiceDefinition {
  cachedDefinition ??= protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  const definition = cachedDefinition[`sluice.v1.${name}`];
  if (definition === undefined || 'format' in definition) throw new Error(`${PROTO_PATH} has no service sluice.v1.${name}`);
  return definition as protoLoader.ServiceDefinition;
}

/** One method of a service: its request and its response, as proto-loader decodes them. */
export interface RpcMethod {
  readonly request: object;
  readonly response: object;
}

/** A service's methods, by their name in the proto. */
export type RpcMethods<M> = { readonly [K in keyof M]: RpcMethod };

/** A service of the proto, typed by its method map. */
export interface RpcService<M extends RpcMethods<M>> {
  readonly name: ServiceName;
  /** Never set: carries the method map for the compiler. */
  readonly methods?: M;
}

export function rpcService<M extends RpcMethods<M>>(name: ServiceName): RpcService<M> {
  return { name };
}

/** The response to a call with no answer (the proto's Empty). */
export type Empty = Record<string, never>;

export interface CallOptions {
  /** The caller's leader epoch: every call a coordinator makes carries it. */
  readonly epoch?: number;
  readonly deadlineMs?: number;
}

/** What calls a service: an RpcClient, or a testing double that answers in-process. */
export interface GatewayClient<M extends RpcMethods<M>> {
  call<K extends keyof M & string>(method: K, request: M[K]['request'], options?: CallOptions): Promise<M[K]['response']>;
}

/** What a handler knows of the call beyond its request. */
export interface CallContext {
  /** The caller's leader epoch, when it sent one. */
  readonly epoch: number | undefined;
  readonly peer: string;
}

export type UnaryHandler<Request, Response> = (request: Request, context: CallContext) => Promise<Response>;

/** A handler for every method of a service. */
export type ServiceHandlers<M extends RpcMethods<M>> = { readonly [K in keyof M]: UnaryHandler<M[K]['request'], M[K]['response']> };

/** A service a server serves: its handlers, or where to find them when a call comes (the current leader's, say). */
export interface ServedService {
  readonly name: ServiceName;
  /** The handler of a method by its proto name; undefined: none. */
  readonly handlerOf: (method: string) => UnaryHandler<unknown, object> | undefined;
  /** Whether the handlers are known at start, so a missing one fails the start. */
  readonly static: boolean;
}

export function serve<M extends RpcMethods<M>>(service: RpcService<M>, handlers: ServiceHandlers<M> | (() => ServiceHandlers<M>)): ServedService {
  const current = typeof handlers === 'function' ? handlers : () => handlers;
  return {
    name: service.name,
    // The one untyped step: grpc hands a method's name and its decoded request. The name is one of
    // the proto's methods, which are M's keys (gateway-messages.test.ts checks them against the proto).
    handlerOf: (method) => (current() as unknown as Readonly<Record<string, UnaryHandler<unknown, object> | undefined>>)[method],
    static: typeof handlers !== 'function',
  };
}

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
  readonly services: readonly ServedService[];
}

export class RpcServer {
  private constructor(private readonly server: grpc.Server, readonly address: string) {}

  static async start(options: RpcServerOptions): Promise<RpcServer> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    for (const service of options.services) {
      const definition = serviceDefinition(service.name);
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const method of Object.keys(definition)) {
        if (service.static && !service.handlerOf(method)) throw new Error(`${service.name}.${method} has no handler`);
        implementation[method] = wrapUnary(`${service.name}.${method}`, () => service.handlerOf(method), options);
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

function wrapUnary(method: string, handlerOf: () => UnaryHandler<unknown, object> | undefined, options: RpcServerOptions): grpc.handleUnaryCall<unknown, object> {
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
      const handler = handlerOf();
      if (!handler) throw new Error(`${method} has no handler`);
      handler(call.request, { epoch, peer: call.getPeer() }).then((response) => callback(null, response), fail);
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
export class RpcClient<M extends RpcMethods<M>> implements GatewayClient<M> {
  private readonly client: grpc.Client;
  private readonly definition: grpc.ServiceDefinition;

  constructor(service: RpcService<M>, readonly address: string, private readonly options: RpcClientOptions) {
    this.definition = serviceDefinition(service.name);
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  call<K extends keyof M & string>(method: K, request: M[K]['request'], options: CallOptions = {}): Promise<M[K]['response']> {
    const metadata = new grpc.Metadata();
    if (this.options.token !== undefined) metadata.set('authorization', `Bearer ${this.options.token}`);
    if (options.epoch !== undefined) metadata.set(EPOCH_METADATA, String(options.epoch));
    const deadline = Date.now() + (options.deadlineMs ?? this.options.defaultDeadlineMs ?? 5000);
    const definition = this.definition[method];
    if (definition === undefined) return Promise.reject(new Error(`unknown rpc method ${method}`));
    return new Promise<M[K]['response']>((resolve, reject) => {
      this.client.makeUnaryRequest<M[K]['request'], M[K]['response']>(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        metadata,
        { deadline },
        (error, response) => {
          if (error) reject(errorOf(method, error));
          else resolve(response!);
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
