// One table says what an error means to a caller (shared/errors.ts, errorStatusOf); the REST API
// and gRPC both read it, so a restore error, a lost leadership or a retriable failure gets the
// same answer over either, and a gRPC client gets back the error class the server threw.

import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import {
  ApplicationLoadError,
  AuthenticationError,
  ConfigurationError,
  ExternalSystemError,
  FencedError,
  InvalidRequestError,
  NotFoundError,
  NotLeaderError,
  RestoreError,
  SluiceError,
  StaleEpochError,
} from '../../shared/errors.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { RpcClient, RpcServer, serve, statusOf, type ServiceHandlers } from '../../shared/rpc/rpc.ts';
import { WORKER_GATEWAY, type WorkerGatewayMethods } from '../../shared/rpc/worker-gateway.ts';
import { httpStatusOf } from './rest-server.ts';

/** Each error, what REST and gRPC answer, and the class a gRPC client gets back. */
const CASES: ReadonlyArray<{ readonly error: Error; readonly http: number; readonly grpc: grpc.status; readonly received: new (...args: any[]) => Error }> = [
  { error: new AuthenticationError('wrong cluster token'), http: 401, grpc: grpc.status.UNAUTHENTICATED, received: AuthenticationError },
  { error: new NotFoundError('no job with id "x"'), http: 404, grpc: grpc.status.NOT_FOUND, received: NotFoundError },
  { error: new NotLeaderError('not the leader', '127.0.0.1:1'), http: 503, grpc: grpc.status.FAILED_PRECONDITION, received: NotLeaderError },
  { error: new FencedError('job/x', 3, 4, 'lease expired'), http: 503, grpc: grpc.status.FAILED_PRECONDITION, received: NotLeaderError },
  { error: new StaleEpochError('epoch 3 < 4'), http: 409, grpc: grpc.status.FAILED_PRECONDITION, received: StaleEpochError },
  { error: new InvalidRequestError('parallelism: must be an integer'), http: 400, grpc: grpc.status.INVALID_ARGUMENT, received: InvalidRequestError },
  { error: new ConfigurationError('path', 'not a bucket'), http: 400, grpc: grpc.status.INVALID_ARGUMENT, received: InvalidRequestError },
  { error: new ApplicationLoadError('failed to load'), http: 400, grpc: grpc.status.INVALID_ARGUMENT, received: ApplicationLoadError },
  { error: new RestoreError('checkpoint 7 has no _metadata'), http: 400, grpc: grpc.status.INVALID_ARGUMENT, received: RestoreError },
  { error: new ExternalSystemError('S3 throttled', { retriable: true }), http: 503, grpc: grpc.status.UNAVAILABLE, received: SluiceError },
  { error: new Error('a bug'), http: 500, grpc: grpc.status.INTERNAL, received: SluiceError },
];

describe('one error-to-status table for REST and gRPC', () => {
  let server: RpcServer;
  let client: RpcClient<WorkerGatewayMethods>;

  before(async () => {
    const unused = async (): Promise<never> => {
      throw new Error('not called here');
    };
    const handlers: ServiceHandlers<WorkerGatewayMethods> = {
      DeployTasks: unused,
      TriggerCheckpoint: unused,
      NotifyCheckpointComplete: unused,
      AbortCheckpoint: unused,
      PrepareRescale: unused,
      CompleteRescale: unused,
      CancelJob: async (request) => {
        throw CASES[Number(request.reason)]!.error;
      },
    };
    server = await RpcServer.start({ host: '127.0.0.1', port: 0, token: 't', logger: new InMemoryLogger(), services: [serve(WORKER_GATEWAY, handlers)] });
    client = new RpcClient(WORKER_GATEWAY, server.address, { token: 't' });
  });

  after(async () => {
    client?.close();
    await server?.close();
  });

  for (const [index, c] of CASES.entries()) {
    it(`${c.error.name}: HTTP ${c.http}, gRPC ${grpc.status[c.grpc]}, received as ${c.received.name}`, async () => {
      assert.equal(httpStatusOf(c.error), c.http);
      assert.equal(statusOf(c.error), c.grpc);
      await assert.rejects(client.call('CancelJob', { jobId: 'j', attempt: 1, reason: String(index) }, { epoch: 1 }), (e: Error) => {
        assert.ok(e instanceof c.received, `${e.name}: ${e.message}`);
        assert.ok(e.message.includes(c.error.message), e.message);
        return true;
      });
    });
  }
});
