// MySQL connector (MySQL, MariaDB, Amazon RDS and Aurora MySQL): a sink of batched upserts
// (at-least-once) or of rows written with the checkpoint id in one transaction (exactly-once).

export { MysqlSink } from './mysql-sink.ts';
export type { MysqlCommittable, MysqlSinkWriterState, MysqlSinkWriterStatus } from './mysql-sink.ts';
export type { MysqlConnectionFields, MysqlDeliveryGuarantee, MysqlSinkOptions } from './mysql-sink-options.ts';
