// What a source does with a record it cannot read (invalid JSON, a schema violation, an
// oversized value): the connector's `onPoisonRecord` policy. 'fail' fails the job with an error
// naming the connector and the record's position; 'skip' drops it, counted; 'dead-letter' (the
// default) hands it to the job's dead-letter output with the reason and the position, counted in
// numRecordsDeadLettered, and the job goes on.

import type { SourceOutput } from '../../../shared/api/connectors.ts';
import { ConfigurationError, RecordDeserializationError } from '../../../shared/errors.ts';

export type PoisonRecordPolicy = 'fail' | 'skip' | 'dead-letter';

export const POISON_RECORD_POLICIES: readonly PoisonRecordPolicy[] = ['fail', 'skip', 'dead-letter'];

export interface PoisonRecord {
  /** The connector's name, as error messages show it (`Kafka source "orders"`). */
  readonly connector: string;
  /** The record as text (truncated by the caller if huge). */
  readonly raw: string;
  readonly reason: string;
  /** Where it came from: `topic orders partition 3 offset 1207`, `shard-0001 sequence 4962…`. */
  readonly position: string;
}

/** Checks a policy from user options; `field` names the option in the error. */
export function poisonRecordPolicy(value: unknown, field: string): PoisonRecordPolicy {
  if (value === undefined) return 'dead-letter';
  if (POISON_RECORD_POLICIES.includes(value as PoisonRecordPolicy)) return value as PoisonRecordPolicy;
  throw new ConfigurationError(field, `must be one of ${POISON_RECORD_POLICIES.join(', ')}, got ${JSON.stringify(value)}`);
}

const MAX_RAW_CHARS = 4096;

/** Applies the policy to one unreadable record; returns how many records were skipped (0 or 1). */
export function rejectRecord(policy: PoisonRecordPolicy, output: SourceOutput<unknown>, record: PoisonRecord): number {
  switch (policy) {
    case 'fail':
      throw new RecordDeserializationError(`${record.connector}: the record at ${record.position} cannot be read: ${record.reason}`, record.position);
    case 'skip':
      return 1;
    case 'dead-letter': {
      const raw = record.raw.length > MAX_RAW_CHARS ? `${record.raw.slice(0, MAX_RAW_CHARS)}… (${record.raw.length} chars)` : record.raw;
      output.deadLetter(raw, `${record.connector}: ${record.reason}`, record.position);
      return 0;
    }
  }
}
