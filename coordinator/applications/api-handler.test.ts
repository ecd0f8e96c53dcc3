// The handler on a real port, driven by the real AWS SDK client: what the SDK sends we must
// accept, and what we answer the SDK must turn into its own results and exception classes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { ManualClock } from '../../shared/clock.ts';
import { InMemoryLogger } from '../../shared/logging.ts';
import { FileAccessKeyStore, InMemoryAccessKeyStore, type AccessKeyStore } from './access-keys.ts';
import { createKinesisAnalyticsHandler, type KinesisAnalyticsOperationHandlers, type OperationContext } from './api-handler.ts';
import * as ours from './kinesis-analytics-errors.ts';
import { signWithSdkSigner, type TestCredentials } from './testing/sign-request.ts';

const KEYS = {
  admin: { accessKeyId: 'AKIASLUICEADMIN', secretAccessKey: 'admin-secret-0123456789', actions: ['kinesisanalytics:*'], applications: ['*'] },
  reader: {
    accessKeyId: 'AKIASLUICEREADER',
    secretAccessKey: 'reader-secret-0123456789',
    actions: ['kinesisanalytics:Describe*', 'kinesisanalytics:List*'],
    applications: ['*'],
  },
  orders: { accessKeyId: 'AKIASLUICEORDERS', secretAccessKey: 'orders-secret-0123456789', actions: ['kinesisanalytics:*'], applications: ['orders-*'] },
  session: {
    accessKeyId: 'ASIASLUICESESSION',
    secretAccessKey: 'session-secret-0123456789',
    sessionToken: 'session-token-0123456789',
    actions: ['kinesisanalytics:*'],
    applications: ['*'],
  },
};

const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN = (name: string) => `arn:aws:kinesisanalytics:us-east-1:123456789012:application/${name}`;

/** What StopApplication throws, by application name: each error the service may answer with. */
const ERRORS: [ours.KinesisAnalyticsError, new (...args: never[]) => sdk.KinesisAnalyticsV2ServiceException, number][] = [
  [new ours.ResourceNotFoundException("Application 'orders-gone' does not exist"), sdk.ResourceNotFoundException, 400],
  [new ours.ResourceInUseException("Application 'orders-eu' is STARTING: wait until it is RUNNING"), sdk.ResourceInUseException, 400],
  [new ours.InvalidArgumentException('ApplicationName: must be 1 to 128 characters'), sdk.InvalidArgumentException, 400],
  [new ours.InvalidRequestException('RunConfiguration: is not an object'), sdk.InvalidRequestException, 400],
  [new ours.InvalidApplicationConfigurationException('ParallelismConfiguration.Parallelism: exceeds MaxParallelism 128'), sdk.InvalidApplicationConfigurationException, 400],
  [new ours.CodeValidationException("application bundle 's3://code/app.zip' has no default export"), sdk.CodeValidationException, 400],
  [new ours.ConcurrentModificationException('CurrentApplicationVersionId 3 is not the current version 4'), sdk.ConcurrentModificationException, 409],
  [new ours.UnsupportedOperationException('ApplicationMode INTERACTIVE is not supported'), sdk.UnsupportedOperationException, 400],
  [new ours.LimitExceededException('at most 50 applications per account; 50 exist'), sdk.LimitExceededException, 400],
  [new ours.TooManyTagsException('at most 50 tags on an application'), sdk.TooManyTagsException, 400],
  [new ours.ServiceUnavailableException('no coordinator leads at the moment; retry'), sdk.ServiceUnavailableException, 503],
];

interface RunningApi {
  readonly endpoint: string;
  readonly host: string;
  readonly clock: ManualClock;
  readonly logger: InMemoryLogger;
  readonly calls: { operation: string; input: unknown; context: OperationContext }[];
  close(): Promise<void>;
}

async function startApi(options: { keys: AccessKeyStore; clockMs?: number; maxRequestBodyBytes?: number }): Promise<RunningApi> {
  const clock = new ManualClock(options.clockMs ?? Date.now());
  const logger = new InMemoryLogger();
  const calls: RunningApi['calls'] = [];
  const operations: KinesisAnalyticsOperationHandlers = {
    DescribeApplication: async (input, context) => {
      calls.push({ operation: 'DescribeApplication', input, context });
      return {
        ApplicationDetail: {
          ApplicationARN: ARN(input.ApplicationName!),
          ApplicationName: input.ApplicationName!,
          ApplicationDescription: 'counts orders per region',
          RuntimeEnvironment: 'FLINK-1_20',
          ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
          ApplicationStatus: 'RUNNING',
          ApplicationVersionId: 7,
          CreateTimestamp: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 600)),
          ApplicationConfigurationDescription: {
            FlinkApplicationConfigurationDescription: { ParallelismConfigurationDescription: { ConfigurationType: 'CUSTOM', Parallelism: 4, ParallelismPerKPU: 1, CurrentParallelism: 4, AutoScalingEnabled: false } },
          },
          ApplicationMode: 'STREAMING',
        },
      };
    },
    ListApplications: async (input, context) => {
      calls.push({ operation: 'ListApplications', input, context });
      return { ApplicationSummaries: [] };
    },
    CreateApplication: async (input, context) => {
      calls.push({ operation: 'CreateApplication', input, context });
      return {
        ApplicationDetail: { ApplicationARN: ARN(input.ApplicationName!), ApplicationName: input.ApplicationName!, RuntimeEnvironment: input.RuntimeEnvironment!, ApplicationStatus: 'READY', ApplicationVersionId: 1 },
      };
    },
    DeleteApplication: async (input, context) => {
      calls.push({ operation: 'DeleteApplication', input, context });
      return {};
    },
    TagResource: async (input, context) => {
      calls.push({ operation: 'TagResource', input, context });
      return {};
    },
    StopApplication: async (input) => {
      const found = ERRORS.find(([error]) => error.name === input.ApplicationName);
      if (found) throw found[0];
      if (input.ApplicationName === 'orders-bug') throw new Error('ENOENT: no such file /var/lib/sluice/registry/orders-bug.json');
      return {};
    },
  };
  const handler = createKinesisAnalyticsHandler({ keys: options.keys, clock, operations, logger, ...(options.maxRequestBodyBytes ? { maxRequestBodyBytes: options.maxRequestBodyBytes } : {}) });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    clock,
    logger,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function clientFor(api: RunningApi, { accessKeyId, secretAccessKey, sessionToken }: TestCredentials, options: { maxAttempts?: number } = {}): sdk.KinesisAnalyticsV2Client {
  // A copy: the SDK marks the credentials object it is given (`$source`).
  const credentials = { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
  return new sdk.KinesisAnalyticsV2Client({ endpoint: api.endpoint, region: 'us-east-1', credentials, maxAttempts: options.maxAttempts ?? 1 });
}

/** What `call` threw, made with a fresh client. */
async function errorOf(
  api: RunningApi,
  credentials: TestCredentials,
  call: (client: sdk.KinesisAnalyticsV2Client) => Promise<unknown>,
): Promise<sdk.KinesisAnalyticsV2ServiceException> {
  const client = clientFor(api, credentials);
  try {
    await call(client);
  } catch (error) {
    return error as sdk.KinesisAnalyticsV2ServiceException;
  } finally {
    client.destroy();
  }
  assert.fail('the call succeeded');
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: { __type?: string; message?: string } & Record<string, unknown>;
}

/** A request written by hand, so tests can send what the SDK never would. */
function sendRaw(api: RunningApi, headers: readonly (readonly [string, string])[], body: string | Uint8Array): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${api.endpoint}/`, { method: 'POST', headers: Object.fromEntries(headers) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

function signed(api: RunningApi, target: string, body: string, credentials: TestCredentials = KEYS.admin, options: { applyChecksum?: boolean } = {}) {
  return signWithSdkSigner(
    { host: api.host, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `KinesisAnalytics_20180523.${target}` }, body },
    { credentials, signingDate: new Date(api.clock.now()), ...options },
  );
}

function assertAwsError(error: sdk.KinesisAnalyticsV2ServiceException, name: string, message: RegExp, status = 400): void {
  assert.equal(error.name, name, `expected ${name}, got ${error.name}: ${error.message}`);
  assert.ok(error instanceof sdk.KinesisAnalyticsV2ServiceException, `${name} should be a KinesisAnalyticsV2ServiceException`);
  assert.match(error.message, message);
  assert.equal(error.$metadata.httpStatusCode, status);
  assert.match(error.$metadata.requestId ?? '', REQUEST_ID);
}

describe('the applications API with the AWS SDK', () => {
  let dir: string;
  let api: RunningApi;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-applications-api-'));
    const keysFile = join(dir, 'access-keys.json');
    await writeFile(keysFile, JSON.stringify({ keys: Object.values(KEYS) }, null, 2));
    api = await startApi({ keys: await FileAccessKeyStore.load(keysFile) });
  });

  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('answers', () => {
    it('a DescribeApplication the SDK parses, with the caller and request id passed to the operation', async () => {
      const client = clientFor(api, KEYS.admin);
      try {
        const result = await client.send(new sdk.DescribeApplicationCommand({ ApplicationName: 'orders-eu' }));
        const detail = result.ApplicationDetail!;
        assert.equal(detail.ApplicationName, 'orders-eu');
        assert.equal(detail.ApplicationARN, ARN('orders-eu'));
        assert.equal(detail.ApplicationStatus, 'RUNNING');
        assert.equal(detail.ApplicationVersionId, 7);
        assert.deepEqual(detail.CreateTimestamp, new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 600)));
        assert.equal(detail.ApplicationConfigurationDescription?.FlinkApplicationConfigurationDescription?.ParallelismConfigurationDescription?.Parallelism, 4);
        const call = api.calls.at(-1)!;
        assert.deepEqual(call.input, { ApplicationName: 'orders-eu' });
        assert.equal(call.context.requestId, result.$metadata.requestId);
        assert.deepEqual(call.context.principal, { kind: 'access-key', accessKeyId: KEYS.admin.accessKeyId, policy: { actions: KEYS.admin.actions, applications: KEYS.admin.applications } });
      } finally {
        client.destroy();
      }
    });

    it('code sent as bytes and timestamps sent as dates, as the operation receives them', async () => {
      const client = clientFor(api, KEYS.admin);
      try {
        const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 255]);
        await client.send(
          new sdk.CreateApplicationCommand({
            ApplicationName: 'orders-new',
            RuntimeEnvironment: 'FLINK-1_20',
            ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice',
            ApplicationConfiguration: { ApplicationCodeConfiguration: { CodeContentType: 'ZIPFILE', CodeContent: { ZipFileContent: zip } } },
          }),
        );
        const created = api.calls.at(-1)!.input as sdk.CreateApplicationRequest;
        assert.deepEqual(created.ApplicationConfiguration?.ApplicationCodeConfiguration?.CodeContent?.ZipFileContent, zip);

        const createdAt = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 600));
        await client.send(new sdk.DeleteApplicationCommand({ ApplicationName: 'orders-new', CreateTimestamp: createdAt }));
        assert.deepEqual((api.calls.at(-1)!.input as sdk.DeleteApplicationRequest).CreateTimestamp, createdAt);
      } finally {
        client.destroy();
      }
    });

    it('a request signed with a session token, when the key defines one', async () => {
      const client = clientFor(api, KEYS.session);
      try {
        await client.send(new sdk.ListApplicationsCommand({}));
      } finally {
        client.destroy();
      }
    });
  });

  describe("surfaces the service's errors as the SDK's exception classes", () => {
    for (const [error, sdkClass, status] of ERRORS) {
      it(error.name, async () => {
        const thrown = await errorOf(api, KEYS.admin, (client) => client.send(new sdk.StopApplicationCommand({ ApplicationName: error.name })));
        assert.ok(thrown instanceof sdkClass, `expected an instance of the SDK's ${sdkClass.name}, got ${thrown.constructor.name}`);
        assertAwsError(thrown, error.name, new RegExp(`^${error.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), status);
      });
    }

    it('InternalFailure (500) for anything else, without the cause, which goes to the log', async () => {
      const thrown = await errorOf(api, KEYS.admin, (client) => client.send(new sdk.StopApplicationCommand({ ApplicationName: 'orders-bug' })));
      assertAwsError(thrown, 'InternalFailure', /internal error \(request id [0-9a-f-]{36}\)/, 500);
      assert.equal(thrown.$fault, 'server');
      assert.doesNotMatch(thrown.message, /ENOENT|\/var\/lib/);
      const logged = api.logger.lines.find((line) => line.level === 'error' && line.requestId === thrown.$metadata.requestId);
      assert.match(String(logged?.cause), /ENOENT: no such file \/var\/lib\/sluice\/registry\/orders-bug.json/);
      assert.match(String(logged?.stack), /api-handler.test.ts/);
    });

    it('UnsupportedOperationException for an operation the service does not implement', async () => {
      const thrown = await errorOf(api, KEYS.admin, (client) => client.send(new sdk.DiscoverInputSchemaCommand({ ServiceExecutionRole: 'arn:aws:iam::123456789012:role/sluice' })));
      assert.ok(thrown instanceof sdk.UnsupportedOperationException);
      assertAwsError(thrown, 'UnsupportedOperationException', /^DiscoverInputSchema is not supported by this service$/);
    });

    it('RequestEntityTooLargeException (413) for a body over the limit', async () => {
      const small = await startApi({ keys: new InMemoryAccessKeyStore({ keys: [KEYS.admin] }), maxRequestBodyBytes: 1024 });
      try {
        const thrown = await errorOf(small, KEYS.admin, (client) => client.send(new sdk.TagResourceCommand({ ResourceARN: ARN('orders-eu'), Tags: [{ Key: 'note', Value: 'x'.repeat(2000) }] })));
        assertAwsError(thrown, 'RequestEntityTooLargeException', /larger than 1024 bytes/, 413);
      } finally {
        await small.close();
      }
    });
  });

  describe('refuses', () => {
    it('an access key it does not know (UnrecognizedClientException)', async () => {
      const thrown = await errorOf(api, { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'whatever-0123456789' }, (client) => client.send(new sdk.ListApplicationsCommand({})));
      assertAwsError(thrown, 'UnrecognizedClientException', /^The security token included in the request is invalid: access key 'AKIASTRANGER' is not known/);
    });

    it('a signature made with the wrong secret (InvalidSignatureException)', async () => {
      const thrown = await errorOf(api, { ...KEYS.admin, secretAccessKey: 'not-the-admin-secret-0123' }, (client) => client.send(new sdk.ListApplicationsCommand({})));
      assertAwsError(thrown, 'InvalidSignatureException', /^The request signature we calculated does not match the signature you provided/);
    });

    it('a key that needs a session token, signed without it (UnrecognizedClientException)', async () => {
      const { sessionToken: _, ...withoutToken } = KEYS.session;
      const thrown = await errorOf(api, withoutToken, (client) => client.send(new sdk.ListApplicationsCommand({})));
      assertAwsError(thrown, 'UnrecognizedClientException', /needs its session token/);
    });

    it('a request signed more than five minutes from its clock as expired; the SDK then corrects its clock from our Date header', async () => {
      const ahead = await startApi({ keys: new InMemoryAccessKeyStore({ keys: [KEYS.admin] }), clockMs: Date.now() + 60 * 60_000 });
      try {
        const thrown = await errorOf(ahead, KEYS.admin, (client) => client.send(new sdk.ListApplicationsCommand({})));
        assertAwsError(thrown, 'InvalidSignatureException', /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
        const retrying = clientFor(ahead, KEYS.admin, { maxAttempts: 2 });
        try {
          await retrying.send(new sdk.ListApplicationsCommand({}));
        } finally {
          retrying.destroy();
        }
      } finally {
        await ahead.close();
      }
    });

    it('an action the key is not allowed (AccessDeniedException)', async () => {
      const thrown = await errorOf(api, KEYS.reader, (client) => client.send(new sdk.StopApplicationCommand({ ApplicationName: 'orders-eu' })));
      assertAwsError(
        thrown,
        'AccessDeniedException',
        /^Access key AKIASLUICEREADER is not authorized to perform: kinesisanalytics:StopApplication on resource: application\/orders-eu because no action of its policy matches/,
      );
    });

    it('an application the key is not allowed, by ApplicationName, by ResourceARN, and for every application', async () => {
      const byName = await errorOf(api, KEYS.orders, (client) => client.send(new sdk.DescribeApplicationCommand({ ApplicationName: 'payroll' })));
      assertAwsError(byName, 'AccessDeniedException', /kinesisanalytics:DescribeApplication on resource: application\/payroll because no application of its policy matches 'payroll'/);
      const byArn = await errorOf(api, KEYS.orders, (client) => client.send(new sdk.TagResourceCommand({ ResourceARN: ARN('payroll'), Tags: [{ Key: 'team', Value: 'orders' }] })));
      assertAwsError(byArn, 'AccessDeniedException', /kinesisanalytics:TagResource on resource: application\/payroll/);
      const listing = await errorOf(api, KEYS.orders, (client) => client.send(new sdk.ListApplicationsCommand({})));
      assertAwsError(listing, 'AccessDeniedException', /kinesisanalytics:ListApplications on resource: \* because the operation acts on every application/);

      const client = clientFor(api, KEYS.orders);
      try {
        await client.send(new sdk.DescribeApplicationCommand({ ApplicationName: 'orders-eu' }));
        await client.send(new sdk.TagResourceCommand({ ResourceARN: ARN('orders-eu'), Tags: [{ Key: 'team', Value: 'orders' }] }));
      } finally {
        client.destroy();
      }
    });

    it('an unsigned request (MissingAuthenticationTokenException), in the wire format', async () => {
      const response = await sendRaw(
        api,
        [
          ['content-type', 'application/x-amz-json-1.1'],
          ['x-amz-target', 'KinesisAnalytics_20180523.ListApplications'],
        ],
        '{}',
      );
      assert.equal(response.status, 400);
      assert.equal(response.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
      assert.match(String(response.headers['x-amzn-requestid']), REQUEST_ID);
      assert.equal(response.headers['content-type'], 'application/x-amz-json-1.1');
      assert.equal(response.json.__type, 'MissingAuthenticationTokenException');
      assert.match(response.json.message!, /^Request is missing Authentication Token: sign it with AWS Signature Version 4/);
      assert.ok(api.logger.lines.some((line) => line.level === 'warn' && line.requestId === response.headers['x-amzn-requestid']));
    });

    it('a body changed after signing, with or without x-amz-content-sha256 (InvalidSignatureException)', async () => {
      for (const applyChecksum of [true, false]) {
        const request = await signed(api, 'DescribeApplication', '{"ApplicationName":"orders-eu"}', KEYS.orders, { applyChecksum });
        const response = await sendRaw(api, request.headers, '{"ApplicationName":"payroll"}');
        assert.equal(response.status, 400);
        assert.equal(response.json.__type, 'InvalidSignatureException');
        assert.match(response.json.message!, applyChecksum ? /x-amz-content-sha256' header does not match/ : /does not match the signature you provided/);
      }
      // The same request, unchanged, passes.
      const request = await signed(api, 'DescribeApplication', '{"ApplicationName":"orders-eu"}', KEYS.orders);
      assert.equal((await sendRaw(api, request.headers, '{"ApplicationName":"orders-eu"}')).status, 200);
    });

    it('an operation the API does not have (UnknownOperationException) and a body that is not JSON (SerializationException)', async () => {
      const unknown = await signed(api, 'FrobnicateApplication', '{}');
      const unknownResponse = await sendRaw(api, unknown.headers, '{}');
      assert.equal(unknownResponse.json.__type, 'UnknownOperationException');
      assert.match(unknownResponse.json.message!, /KinesisAnalytics_20180523.FrobnicateApplication' names no operation/);

      const badJson = await signed(api, 'DescribeApplication', '{"ApplicationName":');
      const badJsonResponse = await sendRaw(api, badJson.headers, '{"ApplicationName":');
      assert.equal(badJsonResponse.status, 400);
      assert.equal(badJsonResponse.json.__type, 'SerializationException');
      assert.match(badJsonResponse.json.message!, /body of DescribeApplication is not valid JSON/);
    });
  });
});

describe('anonymous access, when the keys allow it', () => {
  it('lets an unsigned request do what the anonymous policy allows, and no more', async () => {
    const api = await startApi({ keys: new InMemoryAccessKeyStore({ allowAnonymous: true, anonymous: { actions: ['kinesisanalytics:Describe*'], applications: ['*'] } }) });
    try {
      const headers = (target: string) =>
        [
          ['content-type', 'application/x-amz-json-1.1'],
          ['x-amz-target', `KinesisAnalytics_20180523.${target}`],
        ] as const;
      const described = await sendRaw(api, headers('DescribeApplication'), '{"ApplicationName":"orders-eu"}');
      assert.equal(described.status, 200);
      assert.equal((described.json.ApplicationDetail as { ApplicationName: string }).ApplicationName, 'orders-eu');
      assert.equal(api.calls.at(-1)!.context.principal.kind, 'anonymous');

      const stopped = await sendRaw(api, headers('StopApplication'), '{"ApplicationName":"orders-eu"}');
      assert.equal(stopped.json.__type, 'AccessDeniedException');
      assert.match(stopped.json.message!, /^Anonymous caller is not authorized to perform: kinesisanalytics:StopApplication/);

      // A signature is still checked when there is one.
      const wrong = await signWithSdkSigner(
        { host: api.host, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'KinesisAnalytics_20180523.DescribeApplication' }, body: '{}' },
        { credentials: { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'whatever-0123456789' }, signingDate: new Date(api.clock.now()) },
      );
      assert.equal((await sendRaw(api, wrong.headers, '{}')).json.__type, 'UnrecognizedClientException');
    } finally {
      await api.close();
    }
  });
});
