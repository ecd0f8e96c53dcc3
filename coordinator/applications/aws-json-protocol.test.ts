import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { NormalizedSchema } from '@smithy/core/schema';
import { awsJsonErrorResponse, awsJsonResponse, parseAwsJsonRequest, type AwsJsonRequestParts } from './aws-json-protocol.ts';
import {
  ConcurrentModificationException,
  InternalFailure,
  kinesisAnalyticsErrorOf,
  ResourceNotFoundException,
  SerializationException,
  ServiceUnavailableException,
  InvalidArgumentException,
  UnknownOperationException,
  type KinesisAnalyticsError,
} from './kinesis-analytics-errors.ts';
import { INPUT_WIRE_MEMBERS, KINESIS_ANALYTICS_OPERATIONS } from './kinesis-analytics-operations.ts';
import { InvalidRequestError, NotFoundError, NotLeaderError } from '../../shared/errors.ts';

function request(overrides: Partial<AwsJsonRequestParts> & { json?: unknown } = {}): AwsJsonRequestParts {
  const { json, ...parts } = overrides;
  return {
    method: 'POST',
    target: 'KinesisAnalytics_20180523.DescribeApplication',
    contentType: 'application/x-amz-json-1.1',
    body: Buffer.from(JSON.stringify(json ?? { ApplicationName: 'orders' })),
    ...parts,
  };
}

function assertParseRefused(parts: AwsJsonRequestParts, type: new (...args: never[]) => KinesisAnalyticsError, message: RegExp): void {
  assert.throws(
    () => parseAwsJsonRequest(parts),
    (error: unknown) => error instanceof type && message.test(error.message),
  );
}

/** Every timestamp and blob member reachable from a schema, as paths of member names ('[]' for a list element, '{}' for a map value). */
function wireMembersOf(schema: NormalizedSchema, path: string[] = [], found: { timestamps: string[][]; blobs: string[][] } = { timestamps: [], blobs: [] }, depth = 0) {
  if (depth > 12) return found;
  if (schema.isTimestampSchema()) found.timestamps.push(path);
  else if (schema.isBlobSchema()) found.blobs.push(path);
  else if (schema.isListSchema()) wireMembersOf(schema.getValueSchema(), [...path, '[]'], found, depth + 1);
  else if (schema.isMapSchema()) wireMembersOf(schema.getValueSchema(), [...path, '{}'], found, depth + 1);
  else if (schema.isStructSchema()) for (const [name, member] of schema.structIterator()) wireMembersOf(member, [...path, name], found, depth + 1);
  return found;
}

describe('the operations', () => {
  it("are the SDK's commands, every one", () => {
    const commands = Object.keys(sdk)
      .filter((name) => /^[A-Z]\w*Command$/.test(name))
      .map((name) => name.slice(0, -'Command'.length))
      .sort();
    assert.deepEqual([...KINESIS_ANALYTICS_OPERATIONS].sort(), commands);
  });

  it("convert exactly the timestamp and blob members of the SDK's request schemas", () => {
    for (const operation of KINESIS_ANALYTICS_OPERATIONS) {
      const schema = (sdk as unknown as Record<string, unknown>)[`${operation}Request$`];
      assert.ok(schema, `the SDK has no schema for ${operation}Request`);
      const found = wireMembersOf(NormalizedSchema.of(schema as never));
      const declared = INPUT_WIRE_MEMBERS[operation];
      assert.deepEqual(found.timestamps, declared?.timestamps ?? [], `${operation}: timestamps`);
      assert.deepEqual(found.blobs, declared?.blobs ?? [], `${operation}: blobs`);
    }
  });
});

describe('parseAwsJsonRequest', () => {
  it('reads the operation from X-Amz-Target and the input from the body', () => {
    assert.deepEqual(parseAwsJsonRequest(request()), { operation: 'DescribeApplication', input: { ApplicationName: 'orders' } });
    assert.deepEqual(parseAwsJsonRequest(request({ body: new Uint8Array() })).input, {});
    assert.equal(parseAwsJsonRequest(request({ contentType: 'application/x-amz-json-1.1; charset=utf-8' })).operation, 'DescribeApplication');
  });

  it('reads timestamps from epoch seconds and blobs from base64', () => {
    const deleted = parseAwsJsonRequest(request({ target: 'KinesisAnalytics_20180523.DeleteApplication', json: { ApplicationName: 'orders', CreateTimestamp: 1767225600.125 } }));
    assert.deepEqual(deleted.input.CreateTimestamp, new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 125)));
    const created = parseAwsJsonRequest(
      request({
        target: 'KinesisAnalytics_20180523.CreateApplication',
        json: { ApplicationName: 'orders', ApplicationConfiguration: { ApplicationCodeConfiguration: { CodeContent: { ZipFileContent: 'AAEC/w==' }, CodeContentType: 'ZIPFILE' } } },
      }),
    );
    const code = (created.input as { ApplicationConfiguration: { ApplicationCodeConfiguration: { CodeContent: { ZipFileContent: Uint8Array } } } }).ApplicationConfiguration
      .ApplicationCodeConfiguration.CodeContent.ZipFileContent;
    assert.deepEqual(code, new Uint8Array([0, 1, 2, 255]));
  });

  it('leaves a member that is absent, or whose parent is not an object, to the operation', () => {
    const created = parseAwsJsonRequest(request({ target: 'KinesisAnalytics_20180523.CreateApplication', json: { ApplicationName: 'orders', ApplicationConfiguration: 'zip' } }));
    assert.equal(created.input.ApplicationConfiguration, 'zip');
  });

  it('refuses what is not a request of the API, naming what is wrong', () => {
    assertParseRefused(request({ method: 'GET' }), UnknownOperationException, /HTTP method GET is not supported/);
    assertParseRefused(request({ target: undefined }), UnknownOperationException, /X-Amz-Target header is missing/);
    assertParseRefused(request({ target: 'KinesisAnalytics_20180523.Frobnicate' }), UnknownOperationException, /'KinesisAnalytics_20180523.Frobnicate' names no operation/);
    assertParseRefused(request({ target: 'Kinesis_20131202.DescribeStream' }), UnknownOperationException, /names no operation/);
    assertParseRefused(request({ contentType: 'application/json' }), SerializationException, /Content-Type 'application\/json' is not supported/);
    assertParseRefused(request({ body: Buffer.from('{"ApplicationName":') }), SerializationException, /body of DescribeApplication is not valid JSON/);
    assertParseRefused(request({ json: ['orders'] }), SerializationException, /must be a JSON object, got an array/);
    assertParseRefused(request({ body: Buffer.from('null') }), SerializationException, /must be a JSON object, got null/);
    assertParseRefused(
      request({ target: 'KinesisAnalytics_20180523.DeleteApplicationSnapshot', json: { ApplicationName: 'a', SnapshotName: 's', SnapshotCreationTimestamp: '2026-01-01' } }),
      SerializationException,
      /SnapshotCreationTimestamp must be a timestamp in epoch seconds, got "2026-01-01"/,
    );
    assertParseRefused(
      request({
        target: 'KinesisAnalytics_20180523.UpdateApplication',
        json: { ApplicationName: 'a', ApplicationConfigurationUpdate: { ApplicationCodeConfigurationUpdate: { CodeContentUpdate: { ZipFileContentUpdate: 'not base64!' } } } },
      }),
      SerializationException,
      /ApplicationConfigurationUpdate\.ApplicationCodeConfigurationUpdate\.CodeContentUpdate\.ZipFileContentUpdate must be base64/,
    );
  });
});

describe('responses', () => {
  it('write the output as JSON, timestamps as epoch seconds and bytes as base64', () => {
    const response = awsJsonResponse({ ApplicationDetail: { CreateTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 500)), Code: new Uint8Array([1, 2]), Missing: undefined } });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/x-amz-json-1.1');
    assert.equal(response.body, '{"ApplicationDetail":{"CreateTimestamp":1767225600.5,"Code":"AQI="}}');
    assert.equal(awsJsonResponse(undefined).body, '{}');
  });

  it('write an error as __type and message, with its name in x-amzn-ErrorType and its status', () => {
    const response = awsJsonErrorResponse(new ResourceNotFoundException("Application 'orders' not found"));
    assert.equal(response.statusCode, 400);
    assert.equal(response.headers['x-amzn-ErrorType'], 'ResourceNotFoundException');
    assert.deepEqual(JSON.parse(response.body), { __type: 'ResourceNotFoundException', message: "Application 'orders' not found" });
    assert.equal(awsJsonErrorResponse(new ConcurrentModificationException('version 3 is not current')).statusCode, 409);
    assert.equal(awsJsonErrorResponse(new ServiceUnavailableException('no leader')).statusCode, 503);
  });
});

describe('kinesisAnalyticsErrorOf', () => {
  it("answers the API's errors as themselves and Sluice's shared errors by what they mean", () => {
    const own = new ResourceNotFoundException('x');
    assert.equal(kinesisAnalyticsErrorOf(own, 'r1'), own);
    assert.ok(kinesisAnalyticsErrorOf(new NotFoundError("no application 'orders'"), 'r1') instanceof ResourceNotFoundException);
    assert.ok(kinesisAnalyticsErrorOf(new InvalidRequestError('Parallelism: must be at least 1'), 'r1') instanceof InvalidArgumentException);
    const notLeader = kinesisAnalyticsErrorOf(new NotLeaderError('not the leader', 'c2:8081'), 'r1');
    assert.ok(notLeader instanceof ServiceUnavailableException && notLeader.retriable);
  });

  it('answers anything else as an InternalFailure that names the request, not the cause', () => {
    const failure = kinesisAnalyticsErrorOf(new Error('ENOENT: /var/lib/sluice/secret-path'), 'request-7');
    assert.ok(failure instanceof InternalFailure);
    assert.equal(failure.httpStatus, 500);
    assert.match(failure.message, /request id request-7/);
    assert.doesNotMatch(failure.message, /secret-path/);
  });
});
