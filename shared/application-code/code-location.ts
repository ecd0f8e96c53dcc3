// Where an application's code is: an object in S3 (Managed Flink's S3ContentLocation: bucket,
// file key, optional object version) or, for development, a local archive or module.

import { ConfigurationError } from '../errors.ts';

export interface S3CodeLocation {
  readonly bucket: string;
  readonly key: string;
  /** The S3 VersionId to read; the latest version when absent. */
  readonly objectVersion?: string;
}

export interface LocalCodeLocation {
  /** A `.zip` made by `sluice package`, or a `.ts`/`.js` module loaded as it is. */
  readonly path: string;
}

export type ApplicationCodeLocation = S3CodeLocation | LocalCodeLocation;

export function isS3CodeLocation(location: ApplicationCodeLocation): location is S3CodeLocation {
  return 'bucket' in location;
}

/** `s3://bucket/key (version v)` or the path, for messages. */
export function describeCodeLocation(location: ApplicationCodeLocation): string {
  if (!isS3CodeLocation(location)) return location.path;
  const url = `s3://${location.bucket}/${location.key}`;
  return location.objectVersion === undefined ? url : `${url} (version ${location.objectVersion})`;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/key` → {bucket, key}; ConfigurationError naming `field` when the URL is not one object's. */
export function parseS3ObjectUrl(url: string, field: string): S3CodeLocation {
  const match = /^s3:\/\/([^/]*)\/(.*)$/.exec(url);
  if (match === null) throw new ConfigurationError(field, `"${url}" is not an S3 object URL (s3://bucket/key)`);
  const [, bucket, key] = match as unknown as [string, string, string];
  if (!BUCKET_NAME.test(bucket)) {
    throw new ConfigurationError(field, `"${url}": "${bucket}" is not an S3 bucket name (3-63 of a-z, 0-9, '.', '-')`);
  }
  if (key === '' || key.endsWith('/') || key.startsWith('/')) {
    throw new ConfigurationError(field, `"${url}": "${key}" is not an object key (s3://bucket/path/to/app.zip)`);
  }
  if (key.split('/').some((segment) => segment === '.' || segment === '..' || segment === '')) {
    throw new ConfigurationError(field, `"${url}": the key "${key}" has an empty, "." or ".." segment`);
  }
  return { bucket, key };
}

/**
 * The one-string form a job carries to every process: `s3://bucket/key`, with `?versionId=<v>`
 * for an exact object version, or a local path (`.zip`, `.ts`, `.js`).
 */
export function codeLocationUrl(location: ApplicationCodeLocation): string {
  if (!isS3CodeLocation(location)) return location.path;
  const url = `s3://${location.bucket}/${location.key}`;
  return location.objectVersion === undefined ? url : `${url}?versionId=${encodeURIComponent(location.objectVersion)}`;
}

/** Reads what codeLocationUrl writes; ConfigurationError naming `field` for a malformed S3 URL. */
export function parseCodeLocationUrl(url: string, field: string): ApplicationCodeLocation {
  if (!url.startsWith('s3://')) return { path: url };
  const query = url.indexOf('?');
  const object = parseS3ObjectUrl(query < 0 ? url : url.slice(0, query), field);
  if (query < 0) return object;
  const params = new URLSearchParams(url.slice(query + 1));
  const unknown = [...params.keys()].filter((name) => name !== 'versionId');
  if (unknown.length > 0) throw new ConfigurationError(field, `"${url}": unknown parameter "${unknown[0]}" (only versionId)`);
  const version = params.get('versionId');
  if (version === null || version === '') throw new ConfigurationError(field, `"${url}": versionId is empty`);
  return { ...object, objectVersion: version };
}
