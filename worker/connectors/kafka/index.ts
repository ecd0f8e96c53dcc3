// The Kafka (and Amazon MSK) connectors: a source that reads partitions as splits with offsets in
// checkpoints, and a sink that writes at-least-once or exactly-once (transactions that commit
// with the checkpoint).

export { KafkaSource } from './kafka-source.ts';
export type { KafkaSourceOptions, KafkaStartingOffsets, KafkaSplitPosition } from './kafka-source.ts';
export { KafkaSink, DEFAULT_MARKER_TOPIC } from './kafka-sink.ts';
export type { KafkaSinkOptions, KafkaSerializer, KafkaDeliveryGuarantee } from './kafka-sink.ts';
export type { KafkaDeserializer, KafkaRecord } from './kafka-deserializers.ts';
export type { KafkaConnectionOptions, KafkaSaslOptions } from './kafka-client.ts';
