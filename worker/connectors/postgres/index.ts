// PostgreSQL connector: a sink of batched upserts (at-least-once) or of rows written with the
// checkpoint id in one transaction (exactly-once).

export { PostgresSink } from './postgres-sink.ts';
export type { PostgresCommittable, PostgresSinkWriterState, PostgresSinkWriterStatus } from './postgres-sink.ts';
export type { PostgresConnectionFields, PostgresDeliveryGuarantee, PostgresSinkOptions } from './postgres-sink-options.ts';
