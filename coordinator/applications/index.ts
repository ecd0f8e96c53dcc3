// The applications API's protocol and security: the kinesisanalyticsv2 operations over AWS JSON
// 1.1, SigV4 verification, access keys with their policy, and the node:http handler that puts
// them together. The application service plugs its operations into `createKinesisAnalyticsHandler`.

export * from './kinesis-analytics-errors.ts';
export * from './kinesis-analytics-operations.ts';
export { AWS_JSON_1_1_CONTENT_TYPE, KINESIS_ANALYTICS_TARGET_PREFIX } from './aws-json-protocol.ts';
export { SigV4Verifier, type SignedRequest, type SigningSecret, type SigV4VerifierOptions, type VerifiedRequest } from './sigv4-verifier.ts';
export {
  authorize,
  describeAccessKeys,
  FileAccessKeyStore,
  InMemoryAccessKeyStore,
  parseAccessKeysConfig,
  readAccessKeysFile,
  type AccessKey,
  type AccessKeysConfig,
  type AccessKeysConfigInput,
  type AccessKeyStore,
  type AccessPolicy,
  type AuthorizationDecision,
  type Principal,
} from './access-keys.ts';
export {
  createKinesisAnalyticsHandler,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  KINESIS_ANALYTICS_SIGNING_NAME,
  type KinesisAnalyticsHandlerOptions,
  type KinesisAnalyticsOperationHandlers,
  type OperationContext,
  type OperationHandler,
} from './api-handler.ts';
