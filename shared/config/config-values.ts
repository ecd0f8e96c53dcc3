// Value parsers for configuration fields. Each takes what a source gave (a flag's or an
// environment variable's text, or a config file's JSON value) and returns the typed value, or
// throws ConfigurationError under `label` (how the user wrote the field in that source:
// `--rest-port`, `SLUICE_REST_PORT`, `config file x.json: restPort`). The checks are zod
// schemas with messages written for a person at a terminal.

import { hostname } from 'node:os';
import { z } from 'zod';
import { parseDurationMs } from '../api/time.ts';
import { ConfigurationError } from '../errors.ts';
import { configurationErrorFromZod } from './configuration-error-from-zod.ts';

export type ValueParser<T> = (raw: unknown, label: string) => T;

/** A value quoted for an error message. */
export function showValue(value: unknown): string {
  if (typeof value === 'string' || (typeof value === 'object' && value !== null)) return JSON.stringify(value);
  return String(value);
}

function fromSchema<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>): ValueParser<T> {
  return (raw, label) => {
    const result = schema.safeParse(raw);
    if (!result.success) throw configurationErrorFromZod(result.error, label);
    return result.data;
  };
}

/** A schema from a converter that returns undefined for a value it does not accept. */
function converted<T>(convert: (raw: unknown) => T | undefined, problem: (raw: unknown) => string): ValueParser<T> {
  return fromSchema(
    z.unknown().transform((raw, ctx) => {
      const value = convert(raw);
      if (value === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem(raw) });
        return z.NEVER;
      }
      return value;
    }),
  );
}

const toInteger = (raw: unknown): number | undefined => {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
};

/** A TCP port; 0 lets the system pick a free one. */
export const port: ValueParser<number> = converted(
  (raw) => {
    const n = toInteger(raw);
    return n !== undefined && n >= 0 && n <= 65_535 ? n : undefined;
  },
  (raw) => `${showValue(raw)} is not a port (an integer from 0 to 65535; 0 picks a free one)`,
);

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): ValueParser<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  return converted(
    (raw) => {
      const n = toInteger(raw);
      return n !== undefined && n >= min && n <= max ? n : undefined;
    },
    (raw) => `${showValue(raw)} is not an integer ${range}`,
  );
}

/** Milliseconds: a number, or a duration such as "500ms", "10s", "1m". */
export function durationMs(min: number): ValueParser<number> {
  return converted(
    (raw) => {
      const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDurationMs(raw) : undefined;
      return ms !== undefined && Number.isSafeInteger(ms) && ms >= min ? ms : undefined;
    },
    (raw) => `${showValue(raw)} is not a duration of at least ${min} ms (milliseconds, or text like "500ms", "10s", "1m")`,
  );
}

const TRUE_TEXT = new Set(['true', '1', 'yes', 'on']);
const FALSE_TEXT = new Set(['false', '0', 'no', 'off']);

export const boolean: ValueParser<boolean> = converted(
  (raw) => {
    if (typeof raw === 'boolean') return raw;
    if (typeof raw !== 'string') return undefined;
    const text = raw.trim().toLowerCase();
    return TRUE_TEXT.has(text) ? true : FALSE_TEXT.has(text) ? false : undefined;
  },
  (raw) => `${showValue(raw)} is not true or false`,
);

/** Non-empty text, optionally matching `pattern` (described by `what` in the error). */
export function text(what = 'text', pattern?: RegExp): ValueParser<string> {
  return converted(
    (raw) => (typeof raw === 'string' && raw.trim() !== '' && (!pattern || pattern.test(raw)) ? raw : undefined),
    (raw) => `${showValue(raw)} is not ${what}`,
  );
}

export function oneOf<const T extends string>(values: readonly T[]): ValueParser<T> {
  return converted(
    (raw) => (typeof raw === 'string' && (values as readonly string[]).includes(raw) ? (raw as T) : undefined),
    (raw) => `${showValue(raw)} is not one of ${values.join(', ')}`,
  );
}

/**
 * A list: comma-separated text, or (in a config file) an array of strings. Each entry is trimmed
 * and passed to `item`, whose errors say which entry.
 */
export function list<T>(item: ValueParser<T>): ValueParser<readonly T[]> {
  return (raw, label) => {
    const entries = typeof raw === 'string' ? raw.split(',').map((e) => e.trim()) : Array.isArray(raw) ? raw : undefined;
    if (!entries || entries.length === 0 || (entries.length === 1 && entries[0] === '')) {
      throw new ConfigurationError(label, `${showValue(raw)} is not a comma-separated list (or, in a config file, an array)`);
    }
    return entries.map((entry, i) => {
      if (entry === '') throw new ConfigurationError(label, `entry ${i + 1} of ${showValue(raw)} is empty`);
      return item(typeof entry === 'string' ? entry.trim() : entry, label);
    });
  };
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?):(\d{1,5})$/;

function isHostPort(raw: string): boolean {
  const match = HOST_PORT.exec(raw);
  const p = match ? Number(match[2]) : 0;
  return p >= 1 && p <= 65_535;
}

/** `host:port` (IPv6 in brackets) with a port from 1. */
export const hostPort: ValueParser<string> = converted(
  (raw) => (typeof raw === 'string' && isHostPort(raw) ? raw : undefined),
  (raw) => `${showValue(raw)} is not host:port (e.g. 127.0.0.1:6123)`,
);

/** An etcd endpoint, `host:port` or `http(s)://host:port`; returned with its scheme. */
export const etcdEndpoint: ValueParser<string> = converted(
  (raw) => {
    if (typeof raw !== 'string') return undefined;
    const match = /^(https?:\/\/)?(?:[^@/\s]+@)?([^@/\s]+?)\/?$/.exec(raw);
    if (!match || !isHostPort(match[2]!)) return undefined;
    return match[1] ? raw.replace(/\/$/, '') : `http://${raw}`;
  },
  (raw) => `${showValue(raw)} is not an etcd endpoint (host:port or http(s)://host:port, e.g. 127.0.0.1:2379)`,
);

/** Identifiers of processes: letters, digits, ".", "_", "-"; starts with a letter or digit. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const processId = text('an id (letters, digits, ".", "_" and "-", starting with a letter or digit, at most 128)', ID_PATTERN);

/** A host name or address to bind or advertise. */
export const host = text('a host name or address', /^\S+$/);

export const MIN_CLUSTER_TOKEN_LENGTH = 16;

/** The shared secret; never echoed in an error. */
export const clusterToken: ValueParser<string> = (raw, label) => {
  if (typeof raw !== 'string') throw new ConfigurationError(label, 'must be text');
  if (/\s/.test(raw)) throw new ConfigurationError(label, 'must not contain whitespace');
  if (raw.length < MIN_CLUSTER_TOKEN_LENGTH) {
    throw new ConfigurationError(label, `must be at least ${MIN_CLUSTER_TOKEN_LENGTH} characters, got ${raw.length} (e.g. openssl rand -hex 32)`);
  }
  return raw;
};

/** `<prefix>-<hostname>-<pid>`, with characters an id may not hold replaced. */
export function defaultProcessId(prefix: string): string {
  const id = `${prefix}-${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128);
  return ID_PATTERN.test(id) ? id : `${prefix}-${process.pid}`;
}

/** `parent/name`, keeping the parent as written (`./sluice-data` gives `./sluice-data/name`). */
export function subdirectory(parent: string, name: string): string {
  return `${parent.replace(/[\\/]+$/, '') || '/'}/${name}`.replace(/^\/\//, '/');
}
