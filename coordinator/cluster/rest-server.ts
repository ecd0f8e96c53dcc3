// The coordinator's REST API (HTTP JSON, bearer token), what the CLI and a UI talk to:
//   GET  /v1/overview               leader, workers, slots, jobs
//   GET  /v1/jobs                   every job's status
//   POST /v1/jobs                   submit {application, jobName?, parallelism?, maxParallelism?, properties?,
//                                   restoreFrom? (snapshot name or path), allowNonRestoredState?, stateBackend?,
//                                   idempotencyKey? (a second submission with the key answers with the first's job)}
//   GET  /v1/jobs/:id               one job: state, attempt, subtasks, checkpoints, last rescale
//   POST /v1/jobs/:id/cancel        cancel at once
//   POST /v1/jobs/:id/stop          last checkpoint (sinks commit), then cancel; {snapshot: true, name?} keeps it as a snapshot
//   POST /v1/jobs/:id/checkpoints   take a checkpoint now; answers when it is complete
//   POST /v1/jobs/:id/snapshots     take a snapshot (savepoint) {name?}
//   POST /v1/jobs/:id/rescale       change the parallelism {parallelism}
//   GET  /v1/snapshots              every snapshot
//   GET  /v1/snapshots/:name        one snapshot: job, checkpoint, operators, size
//   DELETE /v1/snapshots/:name      delete it
//   GET  /console/                  the web console (coordinator/console/): static files, served without the
//                                   token since they hold no data; the page's own REST calls carry it
// A coordinator that is not the leader answers 503 with the leader's REST address; one that lost
// its leadership during a request answers 503 too (retriable: the request did not complete).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthenticationError, errorChainMessage, errorStatusOf, InvalidRequestError, NotFoundError, NotLeaderError, type ErrorStatus } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import { bearerToken, tokenMatches } from '../../shared/rpc/rpc.ts';
import { isConsoleRequest, serveConsole } from '../console/index.ts';
import type { Dispatcher, SubmitRequest } from './dispatcher.ts';

export interface RestServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly logger: Logger;
  /** The leader's dispatcher; rejects with NotLeaderError (naming the leader) on a standby. */
  readonly dispatcher: () => Promise<Dispatcher>;
  /** Who this coordinator is and who leads, for every answer. */
  readonly describe: () => Record<string, unknown>;
  /**
   * The applications API (kinesisanalyticsv2, AWS JSON 1.1 with SigV4): requests with an
   * X-Amz-Target header go here instead of the REST routes, and carry their own authentication.
   */
  readonly applicationsApi?: (req: IncomingMessage, res: ServerResponse) => void;
}

const HTTP_STATUS: Readonly<Record<ErrorStatus, number>> = {
  unauthenticated: 401,
  'not-found': 404,
  // A standby, or a leader that lost its leadership during the request: ask the leader.
  'not-leader': 503,
  'stale-epoch': 409,
  'invalid-argument': 400,
  unavailable: 503,
  internal: 500,
};

/** The HTTP status of an error: shared/errors.ts's table, as gRPC's statusOf reads it too. */
export function httpStatusOf(error: unknown): number {
  return HTTP_STATUS[errorStatusOf(error)];
}

const MAX_BODY_BYTES = 1024 * 1024;

export interface RestServer {
  readonly address: string;
  close(): Promise<void>;
}

export async function startRestServer(options: RestServerOptions): Promise<RestServer> {
  const server = createServer((req, res) => {
    if (options.applicationsApi && req.headers['x-amz-target'] !== undefined) return options.applicationsApi(req, res);
    if (isConsoleRequest(req.url)) return void serveConsole(req, res);
    handle(req, res, options).catch((error: unknown) => send(res, httpStatusOf(error), errorBody(error)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: `${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function errorBody(error: unknown): Record<string, unknown> {
  return {
    error: errorChainMessage(error),
    type: error instanceof Error ? error.name : 'Error',
    ...(error instanceof NotLeaderError && error.leader ? { leader: error.leader } : {}),
    ...(httpStatusOf(error) === 503 ? { retriable: true } : {}),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body, (_, v) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v), 2);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new InvalidRequestError(`request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError(`request body is not valid JSON: ${(error as Error).message}`);
  }
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequestError('request body must be a JSON object');
  return body as Record<string, unknown>;
}

async function handle(req: IncomingMessage, res: ServerResponse, options: RestServerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const presented = bearerToken(req.headers.authorization);
  if (!tokenMatches(options.token, presented)) {
    options.logger.warn('rest request refused: wrong or missing cluster token', { path: url.pathname, remote: req.socket.remoteAddress });
    throw new AuthenticationError(presented === undefined ? 'missing cluster token (Authorization: Bearer <token>)' : 'wrong cluster token');
  }
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  const job = /^\/v1\/jobs\/([^/]+)(?:\/(cancel|stop|checkpoints|snapshots|rescale))?$/.exec(path);
  const snapshot = /^\/v1\/snapshots\/([^/]+)$/.exec(path);
  const route = job ? `${method} /v1/jobs/:id${job[2] ? `/${job[2]}` : ''}` : snapshot ? `${method} /v1/snapshots/:name` : `${method} ${path}`;
  const jobId = job ? decodeURIComponent(job[1]!) : '';
  const snapshotName = snapshot ? decodeURIComponent(snapshot[1]!) : '';
  switch (route) {
    case 'GET /v1/overview':
      return send(res, 200, { ...options.describe(), ...(await options.dispatcher()).overview() });
    case 'GET /v1/jobs':
      return send(res, 200, { jobs: (await options.dispatcher()).listJobs() });
    case 'POST /v1/jobs': {
      const body = objectBody(await readJson(req)) as unknown as SubmitRequest;
      const dispatcher = await options.dispatcher();
      return send(res, 201, await dispatcher.submit(body));
    }
    case 'GET /v1/jobs/:id':
      return send(res, 200, (await options.dispatcher()).jobStatus(jobId));
    case 'POST /v1/jobs/:id/cancel': {
      const dispatcher = await options.dispatcher();
      return send(res, 200, await dispatcher.cancel(jobId));
    }
    case 'POST /v1/jobs/:id/stop': {
      const body = objectBody(await readJson(req));
      const dispatcher = await options.dispatcher();
      return send(res, 200, await dispatcher.stop(jobId, { snapshot: body.snapshot === true, ...(body.name === undefined ? {} : { name: body.name as string }) }));
    }
    case 'POST /v1/jobs/:id/checkpoints': {
      const dispatcher = await options.dispatcher();
      return send(res, 201, await dispatcher.checkpoint(jobId));
    }
    case 'POST /v1/jobs/:id/snapshots': {
      const body = objectBody(await readJson(req));
      const dispatcher = await options.dispatcher();
      return send(res, 201, await dispatcher.snapshot(jobId, body.name === undefined ? undefined : (body.name as string)));
    }
    case 'POST /v1/jobs/:id/rescale': {
      const body = objectBody(await readJson(req));
      const dispatcher = await options.dispatcher();
      return send(res, 200, await dispatcher.rescale(jobId, body.parallelism));
    }
    case 'GET /v1/snapshots':
      return send(res, 200, { snapshots: await (await options.dispatcher()).snapshots.list() });
    case 'GET /v1/snapshots/:name':
      return send(res, 200, await (await options.dispatcher()).snapshots.describe(snapshotName));
    case 'DELETE /v1/snapshots/:name':
      return send(res, 200, await (await options.dispatcher()).snapshots.delete(snapshotName));
  }
  throw new NotFoundError(`no route ${method} ${url.pathname}`);
}
