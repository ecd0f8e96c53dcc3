// What the AWS connectors (Kinesis source and sink, DynamoDB sink) share: the connection options
// (region, endpoint, credentials), the SDK client settings (HTTP/1.1, which kinesalite and
// dynalite need; no SDK retries, so that the connectors retry, count and back off themselves),
// and one classification of SDK failures (throttled, transient, permanent).

import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigurationError, ExternalSystemError } from '../../../shared/errors.ts';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsConnectionOptions {
  /** Default: AWS_REGION, else us-east-1. */
  readonly region?: string;
  /** A service endpoint such as http://127.0.0.1:14567 (kinesalite); default: the region's. */
  readonly endpoint?: string;
  /** Default: the SDK's credential chain (environment, profile, instance role). */
  readonly credentials?: AwsCredentials;
}

export interface ResolvedAwsConnection {
  readonly region: string;
  readonly endpoint: string | undefined;
  readonly credentials: AwsCredentials | undefined;
}

export const AWS_CONNECTION_FIELDS = ['region', 'endpoint', 'credentials'] as const;

export function resolveAwsConnection(options: AwsConnectionOptions): ResolvedAwsConnection {
  const { region, endpoint, credentials } = options;
  if (region !== undefined && (typeof region !== 'string' || !/^[a-z0-9-]+$/.test(region))) {
    throw new ConfigurationError('region', `must be an AWS region such as eu-west-1, got ${JSON.stringify(region)}`);
  }
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ConfigurationError('endpoint', `must be an http(s) URL such as http://127.0.0.1:14567, got ${JSON.stringify(endpoint)}`);
    }
  }
  if (credentials !== undefined) {
    const valid = typeof credentials === 'object' && credentials !== null && typeof credentials.accessKeyId === 'string' && typeof credentials.secretAccessKey === 'string';
    if (!valid) throw new ConfigurationError('credentials', 'must be { accessKeyId, secretAccessKey, sessionToken? } strings');
  }
  return { region: region ?? process.env.AWS_REGION ?? 'us-east-1', endpoint, credentials };
}

/** The configuration every SDK client of the connectors gets. */
export function awsClientConfig(connection: ResolvedAwsConnection) {
  return {
    region: connection.region,
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    ...(connection.credentials ? { credentials: connection.credentials } : {}),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30_000 }),
    maxAttempts: 1,
  };
}

export type AwsFailureKind = 'throttled' | 'transient' | 'not-found' | 'permanent';

const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'LimitExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'KMSThrottlingException']);
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

export function classifyAwsFailure(error: unknown): AwsFailureKind {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | undefined;
  if (e?.name && THROTTLING.has(e.name)) return 'throttled';
  if (e?.name === 'ResourceNotFoundException') return 'not-found';
  if (isConnectionFailure(error)) return 'transient';
  if (e?.name === 'TimeoutError' || e?.$retryable !== undefined) return 'transient';
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return 'transient';
  return 'permanent';
}

/** The endpoint did not answer at all (refused, reset, unknown host). */
export function isConnectionFailure(error: unknown): boolean {
  const e = error as { code?: string; errors?: unknown[] } | undefined;
  if (e?.code && CONNECTION_CODES.has(e.code)) return true;
  // Node reports a refused dual-stack connection as an AggregateError of per-address errors.
  return Array.isArray(e?.errors) && e.errors.some((inner) => isConnectionFailure(inner));
}

/** A failure the connector gives up on, with its label (`Kinesis source "orders"`) and the setting to look at. */
export function describeAwsFailure(label: string, connection: ResolvedAwsConnection, action: string, error: unknown): ExternalSystemError {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (isConnectionFailure(error)) {
    const where = connection.endpoint ?? `the ${connection.region} endpoint`;
    return new ExternalSystemError(`${label}: endpoint ${where} unreachable during ${action} (setting endpoint): ${message}`, { cause: error, retriable: true });
  }
  const name = (error as { name?: string } | undefined)?.name;
  if (name === 'UnrecognizedClientException' || name === 'InvalidSignatureException' || name === 'AccessDeniedException' || name === 'ExpiredTokenException') {
    return new ExternalSystemError(`${label}: credentials refused during ${action} (setting credentials): ${message}`, { cause: error });
  }
  return new ExternalSystemError(`${label}: ${action} failed: ${message}`, { cause: error, retriable: classifyAwsFailure(error) !== 'permanent' });
}
