// Which Hive-style partition folder a record goes to, so Athena (or any Hive-aware reader) prunes
// partitions by path: by the record's event time (`dt=2026-11-27/hr=06`, UTC) or by one of its
// fields (`country=DE`). A value is escaped as Hive escapes partition values (%XX for `/`, `=`,
// `%`, control characters and the like), and a missing value goes to Hive's default partition.

import { ConfigurationError, UserFunctionError } from '../../../shared/errors.ts';
import { NO_TIMESTAMP } from '../../../shared/api/time.ts';
import { SINK_METADATA_FOLDER } from './path-claims.ts';

/** `{ eventTime: 'dt=YYYY-MM-DD/hr=HH' }` (tokens YYYY MM DD HH mm, UTC) or `{ field: 'country' }`. */
export type BucketBy = { readonly eventTime: string } | { readonly field: string };

export const DEFAULT_EVENT_TIME_PATTERN = 'dt=YYYY-MM-DD/hr=HH';

/** Hive's folder for a partition whose value is null. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

export interface BucketAssigner {
  /** The folder (no leading or trailing `/`) for a record and its event timestamp. */
  bucketFor(value: unknown, timestamp: number): string;
}

const TOKEN = /YYYY|MM|DD|HH|mm/g;
const MINUTE_MS = 60_000;

export function createBucketAssigner(bucketBy: BucketBy, sinkName: string): BucketAssigner {
  if (typeof bucketBy !== 'object' || bucketBy === null) {
    throw new ConfigurationError('bucketBy', `must be { eventTime: 'dt=YYYY-MM-DD/hr=HH' } or { field: 'name' }, got ${String(bucketBy)}`);
  }
  const keys = Object.keys(bucketBy);
  if (keys.length !== 1 || !('eventTime' in bucketBy || 'field' in bucketBy)) {
    throw new ConfigurationError('bucketBy', `must have exactly one of eventTime or field, got ${JSON.stringify(bucketBy)}`);
  }
  if ('eventTime' in bucketBy) return new EventTimeBucketAssigner(bucketBy.eventTime, sinkName);
  return new FieldBucketAssigner(bucketBy.field, sinkName);
}

/** Formats the event time (UTC) with a pattern; one format per distinct minute, cached. */
class EventTimeBucketAssigner implements BucketAssigner {
  private cachedMinute = Number.NaN;
  private cachedBucket = '';

  constructor(private readonly pattern: string, private readonly sinkName: string) {
    if (typeof pattern !== 'string' || pattern.length === 0) {
      throw new ConfigurationError('bucketBy.eventTime', `must be a non-empty pattern such as '${DEFAULT_EVENT_TIME_PATTERN}', got ${JSON.stringify(pattern)}`);
    }
    const literal = pattern.replace(TOKEN, '');
    if (!/^[A-Za-z0-9_=\-./]*$/.test(literal) || pattern.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
      throw new ConfigurationError(
        'bucketBy.eventTime',
        `pattern ${JSON.stringify(pattern)} may hold the tokens YYYY MM DD HH mm, letters, digits and _ = - . / (no empty, . or .. segments)`,
      );
    }
    if (!/YYYY|MM|DD|HH|mm/.test(pattern)) throw new ConfigurationError('bucketBy.eventTime', `pattern ${JSON.stringify(pattern)} has no time token (YYYY MM DD HH mm)`);
    if (pattern.split('/')[0] === SINK_METADATA_FOLDER) {
      // The sink never takes what is under its own folder for part files, so it must not write them there.
      throw new ConfigurationError('bucketBy.eventTime', `pattern ${JSON.stringify(pattern)} starts with ${SINK_METADATA_FOLDER}/, the folder of the sink's own objects`);
    }
  }

  bucketFor(_value: unknown, timestamp: number): string {
    const minute = Math.floor(timestamp / MINUTE_MS);
    if (minute === this.cachedMinute) return this.cachedBucket;
    if (timestamp === NO_TIMESTAMP || !Number.isFinite(timestamp)) {
      throw new UserFunctionError(
        `${this.sinkName}: a record has no event timestamp (got ${timestamp}), so it has no dt=/hr= partition ` +
          '(setting bucketBy.eventTime): give the source a WatermarkStrategy with a timestamp assigner, or bucket by a field',
      );
    }
    const date = new Date(minute * MINUTE_MS);
    const values: Record<string, string> = {
      YYYY: String(date.getUTCFullYear()).padStart(4, '0'),
      MM: String(date.getUTCMonth() + 1).padStart(2, '0'),
      DD: String(date.getUTCDate()).padStart(2, '0'),
      HH: String(date.getUTCHours()).padStart(2, '0'),
      mm: String(date.getUTCMinutes()).padStart(2, '0'),
    };
    this.cachedMinute = minute;
    this.cachedBucket = this.pattern.replace(TOKEN, (token) => values[token]!);
    return this.cachedBucket;
  }
}

/** `field=value`, the value escaped as Hive does; null and missing go to the default partition. */
class FieldBucketAssigner implements BucketAssigner {
  private readonly escaped = new Map<unknown, string>();

  constructor(private readonly field: string, private readonly sinkName: string) {
    if (typeof field !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) {
      throw new ConfigurationError('bucketBy.field', `must be a field name (letters, digits, _; not starting with a digit), got ${JSON.stringify(field)}`);
    }
  }

  bucketFor(value: unknown): string {
    if (typeof value !== 'object' || value === null) {
      throw new UserFunctionError(`${this.sinkName}: cannot bucket by field "${this.field}" (setting bucketBy.field): the record is ${value === null ? 'null' : typeof value}, not an object`);
    }
    const raw = (value as Record<string, unknown>)[this.field];
    let bucket = this.escaped.get(raw);
    if (bucket !== undefined) return bucket;
    let text: string;
    if (raw === null || raw === undefined) text = HIVE_DEFAULT_PARTITION;
    else if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint') text = escapeHivePartitionValue(String(raw));
    else throw new UserFunctionError(`${this.sinkName}: field "${this.field}" (setting bucketBy.field) is ${Array.isArray(raw) ? 'an array' : typeof raw}; a partition value must be a string, number or boolean`);
    if (text.length === 0) text = HIVE_DEFAULT_PARTITION;
    bucket = `${this.field}=${text}`;
    // Bounded: a field with many distinct values still caches only the first few thousand.
    if (this.escaped.size < 4096) this.escaped.set(raw, bucket);
    return bucket;
  }
}

/** Hive's FileUtils.escapePathName: %XX for characters that are unsafe in a partition folder name. */
export function escapeHivePartitionValue(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f || '"#%\'*/:=?\\{[]^'.includes(char)) {
      out += Buffer.from(char, 'utf8').reduce((s, byte) => s + '%' + byte.toString(16).toUpperCase().padStart(2, '0'), '');
    } else {
      out += char;
    }
  }
  return out;
}
