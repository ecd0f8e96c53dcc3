// Kinesis Data Streams connectors: a polling source (shards as splits, sequence numbers in
// checkpoints, parents before children after resharding) and an at-least-once PutRecords sink.

export { KinesisSource } from './kinesis-source.ts';
export type { KinesisReaderCounters, KinesisShardPosition, KinesisSourceOptions, KinesisStartPosition } from './kinesis-source.ts';
export type { KinesisDeserializer, KinesisRecordOrigin } from './kinesis-deserializer.ts';
export { KinesisSink } from './kinesis-sink.ts';
export type { KinesisSinkCounters, KinesisSinkOptions } from './kinesis-sink.ts';
export type { AwsConnectionOptions, AwsCredentials } from '../common/aws-connection.ts';
