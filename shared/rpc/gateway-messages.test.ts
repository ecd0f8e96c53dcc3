// The gateways' TypeScript types against the proto: every method of each service has a sample
// with every field set, and each request and response comes back from proto-loader's encoding
// exactly as typed. A field renamed, retyped or added on one side only fails here.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError } from '../errors.ts';
import type { CoordinatorGatewayMethods } from './coordinator-gateway.ts';
import { serviceDefinition, type RpcMethods, type ServiceName } from './rpc.ts';
import {
  decodeProperties,
  decodeSplitIds,
  decodeSplitStates,
  encodeProperties,
  encodeSplitIds,
  encodeSplitStates,
  type DeployTasksRequest,
  type WorkerGatewayMethods,
} from './worker-gateway.ts';

type Samples<M extends RpcMethods<M>> = { readonly [K in keyof M]: M[K] };

const DEPLOYMENT: DeployTasksRequest = {
  jobId: 'job-1',
  attempt: 2,
  jobName: 'keyed count',
  applicationPath: '/apps/count.ts',
  properties: { kafka: { properties: { brokers: 'b:9092', topic: 't' } }, empty: { properties: {} } },
  parallelism: 4,
  maxParallelism: 128,
  checkpointDirectory: 's3://bucket/checkpoints/job-1',
  subtasks: [{ taskId: 1, subtask: 0 }],
  placements: [{ taskId: 1, subtask: 0, workerId: 'w1', dataAddress: '127.0.0.1:7001' }],
  splits: [{ taskId: 1, subtask: 0, splits: [{ splitId: 'orders-0', position: Buffer.from('{"offset":"42"}') }, { splitId: 'orders-1', position: Buffer.alloc(0) }] }],
  restorePath: 's3://bucket/checkpoints/job-1/chk-7',
  allowNonRestoredState: true,
  stateBackend: 'leveldb',
  jobSubmittedAtMs: 1_760_000_000_123,
};

const ASSIGNMENT = { subtasks: [{ taskId: 1, subtask: 0, splitIds: ['orders-0'] }, { taskId: 1, subtask: 1, splitIds: [] }] };

const WORKER_GATEWAY_SAMPLES: Samples<WorkerGatewayMethods> = {
  DeployTasks: { request: DEPLOYMENT, response: {} },
  TriggerCheckpoint: { request: { jobId: 'job-1', attempt: 2, checkpointId: 2 ** 40, splitAssignment: ASSIGNMENT }, response: {} },
  NotifyCheckpointComplete: { request: { jobId: 'job-1', attempt: 2, checkpointId: 8 }, response: {} },
  AbortCheckpoint: { request: { jobId: 'job-1', attempt: 2, checkpointId: 9 }, response: {} },
  CancelJob: { request: { jobId: 'job-1', attempt: 0, reason: 'stopped' }, response: {} },
  PrepareRescale: {
    request: {
      jobId: 'job-1',
      attempt: 2,
      parallelism: 6,
      checkpointId: 10,
      subtasks: [{ taskId: 1, subtask: 5 }],
      placements: DEPLOYMENT.placements,
      deployment: DEPLOYMENT,
      stagingCheckpointId: 9,
    },
    response: { splits: ASSIGNMENT.subtasks },
  },
  CompleteRescale: {
    request: { jobId: 'job-1', attempt: 2, checkpointId: 10, splitAssignment: ASSIGNMENT },
    response: { stashedRecords: 5_000_000_000, keyGroupsTakenOver: 32, keyGroupsStaged: 30, splitsTakenOver: 2, retiredSubtasks: 1, keyGroupPauseMs: 87 },
  },
};

const SUBTASK_STATUS = {
  taskId: 1,
  subtask: 0,
  taskName: 'Source: orders',
  state: 'running',
  recordsIn: 10,
  recordsOut: 12.5,
  watermark: -Infinity,
  busyTimeMs: 3.25,
  backPressuredTimeMs: 0,
  backPressured: false,
  unfinishedSplits: ['orders-0'],
  lateRecordsDropped: 3,
  pendingRecords: 1234,
};

const COORDINATOR_GATEWAY_SAMPLES: Samples<CoordinatorGatewayMethods> = {
  RegisterWorker: {
    request: { workerId: 'w1', rpcAddress: 'h:1', dataAddress: 'h:2', slots: 2, metricsAddress: 'h:3', running: [{ jobId: 'job-1', attempt: 2, subtasks: [SUBTASK_STATUS] }] },
    response: { epoch: 2 ** 33, coordinatorId: 'c1', heartbeatIntervalMs: 1000 },
  },
  Heartbeat: { request: { workerId: 'w1', running: [] }, response: { registered: true, epoch: 7 } },
  AcknowledgeCheckpoint: {
    request: {
      jobId: 'job-1',
      attempt: 2,
      checkpointId: 8,
      taskId: 1,
      subtask: 0,
      states: [{ uid: 'count', subtask: 0, file: 'count/0.state', bytes: 12_345_678_901, sha256: 'ab'.repeat(32), shared: ['cd'.repeat(32)] }],
    },
    response: {},
  },
  ReportTaskFailure: { request: { jobId: 'job-1', attempt: 2, workerId: 'w1', message: 'boom' }, response: {} },
  ReportSubtasksFinished: { request: { jobId: 'job-1', attempt: 2, subtasks: [{ taskId: 1, subtask: 0 }] }, response: {} },
};

function roundTrips<M extends RpcMethods<M>>(service: ServiceName, samples: Samples<M>): void {
  const definition = serviceDefinition(service);
  it(`${service}: the typed methods are the proto's`, () => {
    assert.deepEqual(Object.keys(samples).sort(), Object.keys(definition).sort());
  });
  for (const [method, sample] of Object.entries(samples) as Array<[string, { request: object; response: object }]>) {
    it(`${service}.${method}: request and response decode as typed`, () => {
      const { requestSerialize, requestDeserialize, responseSerialize, responseDeserialize } = definition[method]!;
      assert.deepEqual(requestDeserialize(requestSerialize(sample.request)), sample.request);
      assert.deepEqual(responseDeserialize(responseSerialize(sample.response)), sample.response);
    });
  }
}

describe('gateway messages', () => {
  roundTrips('WorkerGateway', WORKER_GATEWAY_SAMPLES);
  roundTrips('CoordinatorGateway', COORDINATOR_GATEWAY_SAMPLES);

  it('an absent message field decodes as null; an empty one stays present (the barrier of a rescale that moves no split)', () => {
    const { requestSerialize, requestDeserialize } = serviceDefinition('WorkerGateway').TriggerCheckpoint!;
    const plain = requestDeserialize(requestSerialize({ jobId: 'j', attempt: 1, checkpointId: 3 }));
    assert.equal(plain.splitAssignment, null);
    const rescale = requestDeserialize(requestSerialize({ jobId: 'j', attempt: 1, checkpointId: 3, splitAssignment: { subtasks: [] } }));
    assert.deepEqual(rescale.splitAssignment, { subtasks: [] });
  });
});

describe('gateway conversions', () => {
  it('split states keep their ids and positions, an undefined position included', () => {
    const splits = [
      { id: 'orders-0', position: { partition: 0, offset: '42' } },
      { id: 'file-a', position: 1234 },
      { id: 'generator', position: undefined },
    ];
    assert.deepEqual(decodeSplitStates(encodeSplitStates(splits), 'splits'), splits);
  });

  it('a position that is not its encoding is refused, naming the split', () => {
    assert.throws(() => decodeSplitStates([{ splitId: 'orders-0', position: Buffer.from('{not json') }], 'DeployTasks.splits'), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.match(error.message, /DeployTasks\.splits: the position of split orders-0/);
      return true;
    });
  });

  it('properties and split assignments round-trip', () => {
    const properties = { kafka: { brokers: 'b:9092' }, empty: {} };
    assert.deepEqual(decodeProperties(encodeProperties(properties)), properties);
    const assignment = new Map([['1/0', ['a', 'b']], ['12/3', []]]);
    assert.deepEqual(decodeSplitIds(encodeSplitIds(assignment)), assignment);
    assert.throws(() => encodeSplitIds(new Map([['1-0', ['a']]])), /taskId\/subtask/);
  });
});
