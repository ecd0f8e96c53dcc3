// What the object-store folder offers: the ObjectStore interface, its implementations, their
// errors, and createObjectStore, which opens a store from the URL a user configures:
//   s3://bucket/prefix     S3 or an S3-compatible store (S3ObjectStore)
//   file:///abs/dir        a local folder (LocalDirectoryObjectStore); a plain path means the same
//   memory://name          this process's memory, shared by every store of that name (tests)
// For S3 the endpoint, region and credentials come from the options, else from the environment:
// endpoint SLUICE_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL (none: AWS itself); region
// SLUICE_S3_REGION, AWS_REGION, AWS_DEFAULT_REGION (us-east-1); credentials SLUICE_S3_ACCESS_KEY_ID
// with SLUICE_S3_SECRET_ACCESS_KEY, else the AWS SDK's default chain (AWS_ACCESS_KEY_ID, profiles,
// instance roles…).

import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ObjectStore } from './object-store.ts';
import { LocalDirectoryObjectStore } from './local-directory-object-store.ts';
import { MemoryObjectStore, MemoryObjectStoreData } from './memory-object-store.ts';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.ts';
import { ConfigurationError } from '../errors.ts';

export type { MultipartUpload, ObjectInfo, ObjectStore, PutOptions, UploadedPart } from './object-store.ts';
export { InvalidMultipartUploadError, InvalidObjectKeyError, ObjectExistsError, ObjectNotFoundError } from './errors.ts';
export { LocalDirectoryObjectStore, type LocalDirectoryObjectStoreOptions } from './local-directory-object-store.ts';
export { MemoryObjectStore, MemoryObjectStoreData, type MemoryObjectStoreOptions } from './memory-object-store.ts';
export { S3ObjectStore, type S3Credentials, type S3GetOptions, type S3ObjectStoreOptions, type S3PutResult } from './s3-object-store.ts';
export {
  FaultInjectingObjectStore,
  InjectedObjectStoreFault,
  type FaultTiming,
  type ObjectStoreOperation,
} from './fault-injecting-object-store.ts';
export { MIN_MULTIPART_PART_BYTES } from './multipart-parts.ts';

export interface CreateObjectStoreOptions {
  /** The setting the URL came from, for error messages. Default 'url'. */
  readonly field?: string;
  /** S3 settings that win over the environment. */
  readonly s3?: Omit<S3ObjectStoreOptions, 'bucket' | 'prefix'>;
  /** Where the defaults are read; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The data behind each `memory://name`, so two stores of one name see the same objects. */
const memoryStores = new Map<string, MemoryObjectStoreData>();

/** Opens the store a URL names; ConfigurationError naming `options.field` when the URL is not one. */
export function createObjectStore(url: string, options: CreateObjectStoreOptions = {}): ObjectStore {
  const field = options.field ?? 'url';
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ConfigurationError(field, 'an object store URL is required (s3://bucket/prefix, file:///dir, a path, or memory://name)');
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 's3':
      return createS3Store(url, field, options);
    case 'file':
      return new LocalDirectoryObjectStore({ directory: fileDirectory(url, field) });
    case 'memory':
      return createMemoryStore(url, field);
    case undefined:
      return new LocalDirectoryObjectStore({ directory: resolve(url) });
    default:
      throw new ConfigurationError(field, `"${url}": unknown scheme "${scheme}:" (use s3://bucket/prefix, file:///dir, a path, or memory://name)`);
  }
}

function createS3Store(url: string, field: string, options: CreateObjectStoreOptions): S3ObjectStore {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url);
  const bucket = match?.[1] ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigurationError(field, `"${url}": "${bucket}" is not an S3 bucket name (s3://bucket/prefix; 3-63 of a-z, 0-9, '.', '-')`);
  }
  const prefix = (match?.[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((segment) => segment === '.' || segment === '..' || (prefix !== '' && segment === ''))) {
    throw new ConfigurationError(field, `"${url}": the prefix "${prefix}" has an empty, "." or ".." segment`);
  }
  const env = options.env ?? process.env;
  const s3 = options.s3 ?? {};
  const endpoint = s3.endpoint === undefined ? firstSetVariable(env, ENDPOINT_VARIABLES) : { name: 'endpoint', value: s3.endpoint };
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint.value)) {
    throw new ConfigurationError(endpoint.name, `"${endpoint.value}" is not an http:// or https:// URL (the S3 endpoint of ${field})`);
  }
  const region = s3.region ?? firstSetVariable(env, REGION_VARIABLES)?.value;
  const accessKeyId = env.SLUICE_S3_ACCESS_KEY_ID;
  const secretAccessKey = env.SLUICE_S3_SECRET_ACCESS_KEY;
  const credentials = s3.credentials ?? (accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined);
  return new S3ObjectStore({
    ...s3,
    bucket,
    prefix,
    ...(endpoint === undefined ? {} : { endpoint: endpoint.value }),
    ...(region === undefined ? {} : { region }),
    ...(credentials === undefined ? {} : { credentials }),
  });
}

function fileDirectory(url: string, field: string): string {
  let directory: string;
  try {
    directory = fileURLToPath(url);
  } catch (error) {
    throw new ConfigurationError(field, `"${url}" is not a file URL of a local folder (file:///absolute/dir)`, { cause: error });
  }
  if (!isAbsolute(directory)) throw new ConfigurationError(field, `"${url}" must name an absolute folder (file:///absolute/dir)`);
  return directory;
}

function createMemoryStore(url: string, field: string): MemoryObjectStore {
  const name = /^memory:\/\/(.+)$/i.exec(url)?.[1];
  if (name === undefined) throw new ConfigurationError(field, `"${url}": a memory store needs a name (memory://name)`);
  let data = memoryStores.get(name);
  if (data === undefined) {
    data = new MemoryObjectStoreData();
    memoryStores.set(name, data);
  }
  return new MemoryObjectStore({ data, name });
}

const ENDPOINT_VARIABLES = ['SLUICE_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'];
const REGION_VARIABLES = ['SLUICE_S3_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'];

/** The first of the variables that is set and not empty, with its name for error messages. */
function firstSetVariable(env: NodeJS.ProcessEnv, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}
