// The kinesisanalyticsv2 API over node:http: reads the body (bounded), verifies the SigV4
// signature (or lets an unsigned request in where the keys allow it), parses the JSON 1.1
// request, authorizes the operation on its application, dispatches to the operation's handler
// and writes what it returns, or the error it throws, as the AWS SDK reads them. Every answer
// carries `x-amzn-RequestId`, which the SDK reports as `$metadata.requestId`, and a `Date` from
// our clock, which the SDK uses to correct its own when we refuse its signature as expired.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { authorize, type AccessKey, type AccessKeyStore, type Principal } from './access-keys.ts';
import { awsJsonErrorResponse, awsJsonResponse, parseAwsJsonRequest, type AwsJsonResponse } from './aws-json-protocol.ts';
import {
  AccessDeniedException,
  IncompleteSignatureException,
  InvalidSignatureException,
  kinesisAnalyticsErrorOf,
  MissingAuthenticationTokenException,
  RequestEntityTooLargeException,
  UnrecognizedClientException,
  UnsupportedOperationException,
  type KinesisAnalyticsError,
} from './kinesis-analytics-errors.ts';
import { applicationNameOf, type KinesisAnalyticsOperationName, type OperationInput, type OperationOutput } from './kinesis-analytics-operations.ts';
import { headerPairs, SigV4Verifier, type SignedRequest } from './sigv4-verifier.ts';

/** The signing name of the API in a SigV4 credential scope. */
export const KINESIS_ANALYTICS_SIGNING_NAME = 'kinesisanalytics';
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024;

export interface OperationContext {
  readonly principal: Principal;
  readonly requestId: string;
}

export type OperationHandler<K extends KinesisAnalyticsOperationName> = (input: OperationInput<K>, context: OperationContext) => Promise<OperationOutput<K>>;

/** The operations the service implements; one left out answers UnsupportedOperationException. */
export type KinesisAnalyticsOperationHandlers = { readonly [K in KinesisAnalyticsOperationName]?: OperationHandler<K> };

export interface KinesisAnalyticsHandlerOptions {
  readonly keys: AccessKeyStore;
  readonly clock: Clock;
  readonly operations: KinesisAnalyticsOperationHandlers;
  readonly logger?: Logger;
  /** Default 1 MiB. A CreateApplication with the code inline (ZipFileContent) needs more. */
  readonly maxRequestBodyBytes?: number;
  /** When set, requests must be signed for this region. */
  readonly region?: string;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function createKinesisAnalyticsHandler(options: KinesisAnalyticsHandlerOptions): RequestListener {
  const maxBodyBytes = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  const verifier = new SigV4Verifier<AccessKey>({
    service: KINESIS_ANALYTICS_SIGNING_NAME,
    clock: options.clock,
    lookup: (accessKeyId) => options.keys.findAccessKey(accessKeyId),
    ...(options.region === undefined ? {} : { region: options.region }),
  });

  async function answer(req: IncomingMessage, requestId: string): Promise<AwsJsonResponse> {
    const body = await readBody(req, maxBodyBytes);
    const signed: SignedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: headerPairs(req.rawHeaders), body };
    const principal = await authenticate(signed);
    const { operation, input } = parseAwsJsonRequest({
      method: signed.method,
      target: singleHeader(req, 'x-amz-target'),
      contentType: singleHeader(req, 'content-type'),
      body,
    });
    const decision = authorize(principal, operation, applicationNameOf(input));
    if (!decision.allowed) throw decision.error;
    const handler = options.operations[operation] as OperationHandler<typeof operation> | undefined;
    if (handler === undefined) throw new UnsupportedOperationException(`${operation} is not supported by this service`);
    return awsJsonResponse(await handler(input as OperationInput<typeof operation>, { principal, requestId }));
  }

  async function authenticate(request: SignedRequest): Promise<Principal> {
    try {
      const { accessKeyId, key } = await verifier.verify(request);
      return { kind: 'access-key', accessKeyId, policy: { actions: key.actions, applications: key.applications } };
    } catch (error) {
      // Unsigned: in only where the keys let anonymous callers in. A bad signature never falls back to anonymous.
      const policy = error instanceof MissingAuthenticationTokenException ? await options.keys.anonymousPolicy() : undefined;
      if (policy === undefined) throw error;
      return { kind: 'anonymous', policy };
    }
  }

  return (req, res) => {
    const requestId = randomUUID();
    answer(req, requestId)
      .catch((thrown: unknown) => {
        const error = kinesisAnalyticsErrorOf(thrown, requestId);
        const fields = { requestId, target: req.headers['x-amz-target'], error: error.errorType, remote: req.socket.remoteAddress };
        if (error.httpStatus >= 500) options.logger?.error('applications API request failed', { ...fields, cause: errorChainMessage(thrown), stack: (thrown as Error)?.stack });
        else if (isAuthenticationOrAuthorizationError(error)) options.logger?.warn('applications API request refused', { ...fields, message: error.message });
        else options.logger?.debug('applications API request refused', { ...fields, message: error.message });
        // The rest of a body too large is dropped unread: the connection cannot carry another request.
        if (error instanceof RequestEntityTooLargeException) res.setHeader('connection', 'close');
        return awsJsonErrorResponse(error);
      })
      .then((response) => write(res, response, requestId, options.clock))
      .catch((error: unknown) => options.logger?.error('applications API could not answer', { requestId, cause: errorChainMessage(error) }));
  };
}

function isAuthenticationOrAuthorizationError(error: KinesisAnalyticsError): boolean {
  return (
    error instanceof MissingAuthenticationTokenException ||
    error instanceof IncompleteSignatureException ||
    error instanceof InvalidSignatureException ||
    error instanceof UnrecognizedClientException ||
    error instanceof AccessDeniedException
  );
}

function write(res: ServerResponse, response: AwsJsonResponse, requestId: string, clock: Clock): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(response.body, 'utf8');
  res.writeHead(response.statusCode, {
    ...response.headers,
    'content-length': String(body.length),
    'x-amzn-RequestId': requestId,
    date: new Date(clock.now()).toUTCString(),
  });
  res.end(body);
}

function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The whole body, or RequestEntityTooLargeException as soon as it is known to exceed `maxBytes` (the rest is then read and dropped). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new RequestEntityTooLargeException(`The request body is larger than ${maxBytes} bytes, the most this service accepts`);
    const declaredBytes = Number(req.headers['content-length']);
    if (Number.isFinite(declaredBytes) && declaredBytes > maxBytes) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => reject(new Error('the client closed the connection before it sent the whole body')));
  });
}
