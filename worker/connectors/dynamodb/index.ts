// DynamoDB connectors: a sink of idempotent upserts by the table key (BatchWriteItem).

export { DynamoDbSink } from './dynamodb-sink.ts';
export type { DynamoDbSinkCounters, DynamoDbSinkOptions } from './dynamodb-sink.ts';
