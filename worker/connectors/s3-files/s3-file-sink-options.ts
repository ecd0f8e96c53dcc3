// The S3 file sink's options: what a user may set, the defaults, and one validation that names
// the field at fault. The rest of the sink sees only the resolved, read-only result.

import type { ObjectStore } from '../../../shared/object-store/object-store.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { createBucketAssigner, DEFAULT_EVENT_TIME_PATTERN, type BucketAssigner, type BucketBy } from './bucket-assigner.ts';
import { resolveParquetSchema, type ParquetColumn, type ParquetSchema } from './parquet-schema.ts';
import { checkKnownFields } from '../common/connector-options.ts';

/** S3's smallest part but the last of a multipart upload. */
export const MIN_MULTIPART_PART_BYTES = 5 * 1024 * 1024;

export interface S3FileSinkOptions<T> {
  /** `s3://bucket/prefix`, any URL createObjectStore accepts, or an ObjectStore; keys go under its root. */
  readonly path: string | ObjectStore;
  /** For logs and errors. Default 'S3FileSink'. */
  readonly name?: string;
  /** Default 'json' (JSON lines). */
  readonly format?: 'json' | 'parquet';
  /** Hive-style partition folders. Default `{ eventTime: 'dt=YYYY-MM-DD/hr=HH' }` (UTC). */
  readonly bucketBy?: BucketBy;
  /** Parquet columns, `{ field: 'INT64' | 'DOUBLE' | 'STRING' | … }`; default inferred from the first record. */
  readonly schema?: ParquetSchema;
  /** JSON only: turns a record into one line. Default JSON.stringify. */
  readonly serialize?: (value: T) => string;
  /** A file is rolled once it holds this many bytes. Default 128 MiB. */
  readonly maxFileBytes?: number;
  /** A file is rolled at its first record after it has been open this long. Default: only size and checkpoints roll. */
  readonly maxFileOpenMs?: number;
  /** Bytes buffered before one multipart part is uploaded; at least 5 MiB (S3's minimum). Default 5 MiB. */
  readonly partBytes?: number;
  /** Parquet rows per row group (and buffered in memory before encoding). Default 100,000. */
  readonly parquetRowGroupRows?: number;
  /** Files are `<partPrefix>-<subtask>-<n>.<json|parquet>`. Default 'part'. */
  readonly partPrefix?: string;
}

export interface ResolvedS3FileSinkOptions<T> {
  readonly path: string | ObjectStore;
  readonly name: string;
  readonly format: 'json' | 'parquet';
  readonly bucketBy: BucketBy;
  readonly parquetColumns: readonly ParquetColumn[] | undefined;
  readonly serialize: ((value: T) => string) | undefined;
  readonly maxFileBytes: number;
  readonly maxFileOpenMs: number;
  readonly partBytes: number;
  readonly parquetRowGroupRows: number;
  readonly partPrefix: string;
  /** Made once here so a bad pattern fails when the sink is built, not at the first record. */
  readonly createBucketAssigner: () => BucketAssigner;
}

const OPTION_FIELDS = new Set([
  'path',
  'name',
  'format',
  'bucketBy',
  'schema',
  'serialize',
  'maxFileBytes',
  'maxFileOpenMs',
  'partBytes',
  'parquetRowGroupRows',
  'partPrefix',
]);

function positiveInteger(field: string, value: unknown, unit: string, minimum = 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new ConfigurationError(field, `must be an integer ≥ ${minimum} (${unit}), got ${String(value)}`);
  }
  return value;
}

export function resolveS3FileSinkOptions<T>(options: S3FileSinkOptions<T>): ResolvedS3FileSinkOptions<T> {
  checkKnownFields(options, OPTION_FIELDS, 'S3FileSink', 'an');
  const { path, name, format, bucketBy, schema, serialize, partPrefix } = options;
  const isStore = typeof path === 'object' && path !== null && typeof (path as ObjectStore).createMultipartUpload === 'function';
  if (!isStore && (typeof path !== 'string' || path.length === 0)) {
    throw new ConfigurationError('path', `must be an s3://bucket/prefix URL (or another object store URL) or an ObjectStore, got ${JSON.stringify(path)}`);
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) throw new ConfigurationError('name', `must be a non-empty string, got ${JSON.stringify(name)}`);
  if (format !== undefined && format !== 'json' && format !== 'parquet') throw new ConfigurationError('format', `must be 'json' or 'parquet', got ${JSON.stringify(format)}`);
  const resolvedFormat = format ?? 'json';
  if (schema !== undefined && resolvedFormat !== 'parquet') throw new ConfigurationError('schema', "applies to format 'parquet' only");
  if (serialize !== undefined && resolvedFormat !== 'json') throw new ConfigurationError('serialize', "applies to format 'json' only");
  if (serialize !== undefined && typeof serialize !== 'function') throw new ConfigurationError('serialize', `must be a function (record) => string, got ${typeof serialize}`);
  if (partPrefix !== undefined && (typeof partPrefix !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_]*$/.test(partPrefix))) {
    throw new ConfigurationError('partPrefix', `must be letters, digits or '_', got ${JSON.stringify(partPrefix)}`);
  }
  const resolvedName = name ?? 'S3FileSink';
  const resolvedBucketBy = bucketBy ?? { eventTime: DEFAULT_EVENT_TIME_PATTERN };
  createBucketAssigner(resolvedBucketBy, resolvedName);
  const maxFileOpenMs = positiveInteger('maxFileOpenMs', options.maxFileOpenMs, 'milliseconds');
  return {
    path: path as string | ObjectStore,
    name: resolvedName,
    format: resolvedFormat,
    bucketBy: resolvedBucketBy,
    parquetColumns: schema === undefined ? undefined : resolveParquetSchema(schema),
    serialize,
    maxFileBytes: positiveInteger('maxFileBytes', options.maxFileBytes, 'bytes') ?? 128 * 1024 * 1024,
    maxFileOpenMs: maxFileOpenMs ?? Number.POSITIVE_INFINITY,
    partBytes: positiveInteger('partBytes', options.partBytes, 'bytes; S3 refuses smaller parts', MIN_MULTIPART_PART_BYTES) ?? MIN_MULTIPART_PART_BYTES,
    parquetRowGroupRows: positiveInteger('parquetRowGroupRows', options.parquetRowGroupRows, 'rows') ?? 100_000,
    partPrefix: partPrefix ?? 'part',
    createBucketAssigner: () => createBucketAssigner(resolvedBucketBy, resolvedName),
  };
}
