// How the Kafka source turns a record into what the job sees: 'json' (the value parsed), 'string'
// (UTF-8), 'bytes' (the Buffer), a schema-checked JSON (a zod schema, or any object with zod's
// `safeParse`), a `validate` function, or a function of the whole record (key, headers, offset).
// A record that cannot be turned into a value throws a `PoisonRecordReason`, which the source
// hands to its onPoisonRecord policy with the record's position.

import { ConfigurationError } from '../../../shared/errors.ts';

/** A Kafka record as a deserializer function sees it. */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch (the producer's create time, or the broker's log-append time). */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | Buffer[] | undefined>>;
}

/** The part of a zod schema the source uses. */
export interface SafeParseSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues?: ReadonlyArray<{ path: ReadonlyArray<string | number>; message: string }>; message: string } };
}

export type KafkaDeserializer<T> =
  | 'json'
  | 'string'
  | 'bytes'
  | { readonly schema: SafeParseSchema<T> }
  /** true: the parsed JSON is a T; false or a string: it is not (the string says why). */
  | { readonly validate: (value: unknown) => boolean | string }
  | ((record: KafkaRecord) => T);

/** Why a record is unreadable; the source turns it into a dead letter or an error. */
export class PoisonRecordReason extends Error {}

export type RecordDecoder<T> = (record: KafkaRecord) => T;

export function recordDecoder<T>(deserializer: KafkaDeserializer<T> | undefined): RecordDecoder<T> {
  const d = deserializer ?? 'json';
  if (d === 'json') return (r) => parseJson(r) as T;
  if (d === 'string') return (r) => (r.value === null ? null : r.value.toString('utf8')) as T;
  if (d === 'bytes') return (r) => r.value as T;
  if (typeof d === 'function') {
    return (r) => {
      try {
        return d(r);
      } catch (error) {
        throw new PoisonRecordReason(`deserializer threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
  }
  if (typeof d === 'object' && d !== null && 'schema' in d && typeof d.schema?.safeParse === 'function') {
    const schema = d.schema;
    return (r) => {
      const result = schema.safeParse(parseJson(r));
      if (result.success) return result.data;
      const issues = result.error.issues?.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
      throw new PoisonRecordReason(`does not match the schema: ${issues ?? result.error.message}`);
    };
  }
  if (typeof d === 'object' && d !== null && 'validate' in d && typeof d.validate === 'function') {
    const validate = d.validate;
    return (r) => {
      const value = parseJson(r);
      let verdict: boolean | string;
      try {
        verdict = validate(value);
      } catch (error) {
        throw new PoisonRecordReason(`validate threw: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (verdict === true) return value as T;
      throw new PoisonRecordReason(`is not valid: ${typeof verdict === 'string' ? verdict : 'validate returned false'}`);
    };
  }
  throw new ConfigurationError('deserializer', `must be 'json', 'string', 'bytes', { schema }, { validate } or a function (record) => value, got ${JSON.stringify(d)}`);
}

function parseJson(r: KafkaRecord): unknown {
  if (r.value === null) throw new PoisonRecordReason('has no value (a tombstone), which is not JSON');
  const text = r.value.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PoisonRecordReason(`is not valid JSON: ${(error as Error).message}`);
  }
}
