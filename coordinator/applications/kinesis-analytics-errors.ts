// The errors the kinesisanalyticsv2 API answers with. A class's name is its wire name (`__type`),
// which the AWS SDK turns back into its exception class of that name (`ResourceNotFoundException`)
// or, for a name its model does not list (the authentication errors, `InternalFailure`), into its
// base exception with that `name`. The HTTP status is the model's (`httpError` trait: 409 for
// ConcurrentModificationException, 503 for ServiceUnavailableException), else 400 for the
// caller's errors and 500 for ours, as AWS's common errors list them.

import { errorStatusOf, SluiceError, type SluiceErrorOptions } from '../../shared/errors.ts';

export abstract class KinesisAnalyticsError extends SluiceError {
  override readonly domain: 'user' | 'internal' = 'user';
  readonly httpStatus: number = 400;

  /** The wire name, as `__type` and `x-amzn-ErrorType` carry it. */
  get errorType(): string {
    return this.name;
  }
}

// The API's own errors (the SDK models each).

/** The application, version, operation or snapshot named does not exist. */
export class ResourceNotFoundException extends KinesisAnalyticsError {}
/** The application is not in a state that allows the operation (running, updating, …). */
export class ResourceInUseException extends KinesisAnalyticsError {}
/** A field of the input is not valid; the message names it. */
export class InvalidArgumentException extends KinesisAnalyticsError {}
/** The request is not valid JSON for the operation, or a field is of the wrong type. */
export class InvalidRequestException extends KinesisAnalyticsError {}
/** The application's configuration is not valid as a whole. */
export class InvalidApplicationConfigurationException extends KinesisAnalyticsError {}
/** The application code could not be used (the bundle is not valid). */
export class CodeValidationException extends KinesisAnalyticsError {}
/** The caller's `CurrentApplicationVersionId` or conditional token is not the current one. */
export class ConcurrentModificationException extends KinesisAnalyticsError {
  override readonly httpStatus = 409;
}
/** A parameter or resource that this operation does not support. */
export class UnsupportedOperationException extends KinesisAnalyticsError {}
/** More applications, snapshots or KPUs than the limit allows. */
export class LimitExceededException extends KinesisAnalyticsError {}
export class TooManyTagsException extends KinesisAnalyticsError {}
/** The service cannot answer now (no leader, leadership lost mid-request); retry. */
export class ServiceUnavailableException extends KinesisAnalyticsError {
  override readonly domain = 'internal' as const;
  override readonly httpStatus = 503;
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super(message, { retriable: true, ...options });
  }
}

// Errors of the protocol (the names AWS's JSON services use).

/** `X-Amz-Target` names no operation of the API. */
export class UnknownOperationException extends KinesisAnalyticsError {}
/** The body is not a JSON object, or a field cannot be read as its wire type. */
export class SerializationException extends KinesisAnalyticsError {}
export class RequestEntityTooLargeException extends KinesisAnalyticsError {
  override readonly httpStatus = 413;
}
/** Our fault. The message says only where to look: the cause stays in the coordinator's log. */
export class InternalFailure extends KinesisAnalyticsError {
  override readonly domain = 'internal' as const;
  override readonly httpStatus = 500;
}

// Errors of authentication and authorization (AWS answers them with 400 on its JSON services).

/** Neither a signature nor, where allowed, anonymous access. */
export class MissingAuthenticationTokenException extends KinesisAnalyticsError {}
/** The Authorization header is malformed or lacks a part. */
export class IncompleteSignatureException extends KinesisAnalyticsError {}
/** The signature does not match, is scoped wrongly, or is too old or too new ("Signature expired"). */
export class InvalidSignatureException extends KinesisAnalyticsError {}
/** The access key id, or its session token, is not known. */
export class UnrecognizedClientException extends KinesisAnalyticsError {}
/** The key's policy does not allow the action on the resource. */
export class AccessDeniedException extends KinesisAnalyticsError {}

/**
 * What a thrown value answers on the wire. The API's errors answer as themselves; Sluice's shared
 * errors by what they mean (shared/errors.ts's table): not found, invalid argument, no leader.
 * Anything else is an InternalFailure whose message names the request, not the cause: a stack or
 * a path must not reach the caller.
 */
export function kinesisAnalyticsErrorOf(error: unknown, requestId: string): KinesisAnalyticsError {
  if (error instanceof KinesisAnalyticsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  switch (errorStatusOf(error)) {
    case 'not-found':
      return new ResourceNotFoundException(message, { cause: error });
    case 'invalid-argument':
      return new InvalidArgumentException(message, { cause: error });
    case 'not-leader':
    case 'unavailable':
      return new ServiceUnavailableException(message, { cause: error });
    default:
      return new InternalFailure(`The request processing has failed because of an internal error (request id ${requestId}); the coordinator's log has the cause`, {
        cause: error,
      });
  }
}
