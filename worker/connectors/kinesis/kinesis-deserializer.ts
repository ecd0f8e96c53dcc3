// How the Kinesis source turns a record's bytes into a value: 'json' (UTF-8 JSON, the default),
// 'string' (UTF-8 text), 'bytes' (the Uint8Array as received) or a function. A record that does
// not deserialize goes through the connector's poison-record policy.

import { ConfigurationError } from '../../../shared/errors.ts';

/** Where a record came from, for a custom deserializer and for error messages. */
export interface KinesisRecordOrigin {
  readonly streamName: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly approximateArrivalTimestampMs: number;
}

export type KinesisDeserializer<T> = 'json' | 'string' | 'bytes' | ((data: Uint8Array, origin: KinesisRecordOrigin) => T);

export type CompiledDeserializer = (data: Uint8Array, origin: KinesisRecordOrigin) => unknown;

const decoder = new TextDecoder('utf-8', { fatal: true });

export function compileDeserializer(value: unknown): CompiledDeserializer {
  switch (value) {
    case undefined:
    case 'json':
      return (data) => JSON.parse(decoder.decode(data)) as unknown;
    case 'string':
      return (data) => decoder.decode(data);
    case 'bytes':
      return (data) => data;
    default:
      if (typeof value === 'function') return value as CompiledDeserializer;
      throw new ConfigurationError('deserializer', `must be 'json', 'string', 'bytes' or a function (data, origin) => value, got ${JSON.stringify(value)}`);
  }
}

/** The record as text for a dead letter: UTF-8 if it is, else base64 (marked). */
export function recordAsText(data: Uint8Array): string {
  try {
    return decoder.decode(data);
  } catch {
    return `base64:${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64')}`;
  }
}
