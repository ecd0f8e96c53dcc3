// The AWS JSON 1.1 protocol as the kinesisanalyticsv2 API speaks it: a request is a POST whose
// `X-Amz-Target: KinesisAnalytics_20180523.<Operation>` names the operation and whose JSON body is
// its input; an answer is 200 with the output as JSON, or an error status with
// `{"__type": "<ErrorName>", "message": "..."}` and the same name in `x-amzn-ErrorType`. The SDK's
// deserializer (@smithy/core's loadJsonRpcErrorCode) reads `__type` first, then `code`, then the
// header, and the message from `message` (or `Message`), so the name is in both places it looks
// first. Timestamps travel as epoch seconds, blobs as base64.

import {
  SerializationException,
  UnknownOperationException,
  type KinesisAnalyticsError,
} from './kinesis-analytics-errors.ts';
import { INPUT_WIRE_MEMBERS, isKinesisAnalyticsOperation, type KinesisAnalyticsOperationName } from './kinesis-analytics-operations.ts';

export const KINESIS_ANALYTICS_TARGET_PREFIX = 'KinesisAnalytics_20180523.';
export const AWS_JSON_1_1_CONTENT_TYPE = 'application/x-amz-json-1.1';

export interface AwsJsonRequest {
  readonly operation: KinesisAnalyticsOperationName;
  /** The parsed body, timestamps as Date and blobs as Uint8Array; otherwise unchecked. */
  readonly input: Record<string, unknown>;
}

export interface AwsJsonRequestParts {
  readonly method: string;
  readonly target: string | undefined;
  readonly contentType: string | undefined;
  readonly body: Uint8Array;
}

export function parseAwsJsonRequest({ method, target, contentType, body }: AwsJsonRequestParts): AwsJsonRequest {
  if (method !== 'POST') throw new UnknownOperationException(`HTTP method ${method} is not supported: the API takes POST with X-Amz-Target`);
  if (target === undefined) throw new UnknownOperationException(`the X-Amz-Target header is missing: it names the operation, as ${KINESIS_ANALYTICS_TARGET_PREFIX}<Operation>`);
  const operation = target.startsWith(KINESIS_ANALYTICS_TARGET_PREFIX) ? target.slice(KINESIS_ANALYTICS_TARGET_PREFIX.length) : undefined;
  if (operation === undefined || !isKinesisAnalyticsOperation(operation)) {
    throw new UnknownOperationException(`X-Amz-Target '${target}' names no operation of this API (${KINESIS_ANALYTICS_TARGET_PREFIX}<Operation>)`);
  }
  const mediaType = contentType?.split(';')[0]!.trim().toLowerCase();
  // 1.0 is the same document format; a client that sends it means the same thing.
  if (mediaType !== AWS_JSON_1_1_CONTENT_TYPE && mediaType !== 'application/x-amz-json-1.0') {
    throw new SerializationException(`Content-Type '${contentType ?? ''}' is not supported: send ${AWS_JSON_1_1_CONTENT_TYPE}`);
  }
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error) {
    throw new SerializationException(`the body of ${operation} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SerializationException(`the body of ${operation} must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : String(parsed === null ? 'null' : typeof parsed)}`);
  }
  const input = parsed as Record<string, unknown>;
  const wire = INPUT_WIRE_MEMBERS[operation];
  for (const path of wire?.timestamps ?? []) convertMember(input, path, readTimestamp);
  for (const path of wire?.blobs ?? []) convertMember(input, path, readBlob);
  return { operation, input };
}

function convertMember(input: Record<string, unknown>, path: readonly string[], read: (value: unknown, field: string) => unknown): void {
  let holder: unknown = input;
  for (const name of path.slice(0, -1)) {
    holder = (holder as Record<string, unknown>)[name];
    // A missing or mistyped parent is the operation's to refuse, with the field's name.
    if (typeof holder !== 'object' || holder === null || Array.isArray(holder)) return;
  }
  const record = holder as Record<string, unknown>;
  const name = path[path.length - 1]!;
  if (record[name] === undefined || record[name] === null) return;
  record[name] = read(record[name], path.join('.'));
}

function readTimestamp(value: unknown, field: string): Date {
  // Epoch seconds, with a fraction for milliseconds, as the SDK writes them.
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SerializationException(`${field} must be a timestamp in epoch seconds, got ${JSON.stringify(value)}`);
  return new Date(Math.round(value * 1000));
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function readBlob(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') throw new SerializationException(`${field} must be base64 text, got ${typeof value}`);
  if (!BASE64.test(value)) throw new SerializationException(`${field} must be base64, got ${value.length} characters that are not`);
  const bytes = Buffer.from(value, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface AwsJsonResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function awsJsonResponse(output: unknown): AwsJsonResponse {
  return { statusCode: 200, headers: { 'content-type': AWS_JSON_1_1_CONTENT_TYPE }, body: JSON.stringify(output ?? {}, wireValue) };
}

export function awsJsonErrorResponse(error: KinesisAnalyticsError): AwsJsonResponse {
  return {
    statusCode: error.httpStatus,
    headers: { 'content-type': AWS_JSON_1_1_CONTENT_TYPE, 'x-amzn-ErrorType': error.errorType },
    body: JSON.stringify({ __type: error.errorType, message: error.message }),
  };
}

/** JSON.stringify's replacer: a Date as epoch seconds, bytes as base64 (the holder still has the value before toJSON). */
function wireValue(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) return raw.getTime() / 1000;
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  return value;
}
