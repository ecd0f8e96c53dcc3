// Where configuration comes from and which source wins: flags > environment (`SLUICE_<UPPER_SNAKE>`)
// > config file (JSON, camelCase keys) > defaults. A field is declared once, by its camelCase key;
// its flag (`--kebab-case`) and environment variable are derived from the key, so the three
// spellings cannot drift apart. Every value remembers its origin, and every error names the field
// as the user wrote it in that source.

import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../errors.ts';
import type { ValueParser } from './config-values.ts';

export interface ConfigSources {
  /** Parsed command-line flags, keyed by flag name without dashes (`rest-port`). */
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly env: NodeJS.ProcessEnv;
  /** Path of a JSON config file (from --config); also taken from --config or SLUICE_CONFIG. */
  readonly file?: string;
}

export interface ConfigFieldSpec<T> {
  /** Placeholder for the value in usage text (`PORT`, `MS`); unused for booleans. */
  readonly valueName: string;
  readonly description: string;
  /** The default as usage text shows it; undefined when there is none. */
  readonly defaultText?: string;
  /** A flag that takes no value (`--allow-unauthenticated`). */
  readonly boolean?: boolean;
  readonly parse: ValueParser<T>;
}

export type ConfigFieldSpecs = Readonly<Record<string, ConfigFieldSpec<unknown>>>;

export type ConfigValueSource = 'flag' | 'env' | 'file' | 'default';

export interface ValueOrigin {
  readonly source: ConfigValueSource;
  /** The field as written in that source: `--rest-port`, `SLUICE_REST_PORT`, `config file x.json: restPort`, `restPort`. */
  readonly label: string;
}

export const flagNameOf = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envNameOf = (key: string): string => `SLUICE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Flags every command takes besides its fields. */
export const CONFIG_FLAG = 'config';
export const HELP_FLAG = 'help';

export interface FlagSpec {
  /** Without dashes: `rest-port`. */
  readonly name: string;
  readonly env: string;
  readonly key: string;
  readonly valueName: string;
  readonly description: string;
  readonly defaultText: string | undefined;
  readonly boolean: boolean;
}

export function flagSpecsOf(fields: ConfigFieldSpecs): readonly FlagSpec[] {
  const own = Object.entries(fields).map(([key, spec]) => ({
    name: flagNameOf(key),
    env: envNameOf(key),
    key,
    valueName: spec.valueName,
    description: spec.description,
    defaultText: spec.defaultText,
    boolean: spec.boolean === true,
  }));
  return Object.freeze([
    ...own,
    { name: CONFIG_FLAG, env: 'SLUICE_CONFIG', key: CONFIG_FLAG, valueName: 'FILE', description: 'A JSON file of options with camelCase keys (flags and the environment win over it).', defaultText: undefined, boolean: false },
    { name: HELP_FLAG, env: '', key: HELP_FLAG, valueName: '', description: 'Print this text.', defaultText: undefined, boolean: true },
  ]);
}

/** Usage text: every flag with its environment variable and default. */
export function formatUsage(heading: string, flags: readonly FlagSpec[]): string {
  const indent = ' '.repeat(USAGE_INDENT);
  const lines = [heading, '', 'Options (precedence: flag > environment variable > --config file > default):'];
  for (const flag of flags) {
    const left = `  --${flag.name}${flag.boolean ? '' : ` ${flag.valueName}`}`;
    const right = wrap([flag.description, flag.defaultText === undefined ? '' : `Default: ${flag.defaultText}.`].filter(Boolean).join(' '), USAGE_WIDTH - USAGE_INDENT);
    if (left.length < USAGE_INDENT) lines.push(`${left.padEnd(USAGE_INDENT)}${right[0]}`);
    else lines.push(left, `${indent}${right[0]}`);
    for (const line of right.slice(1)) lines.push(`${indent}${line}`);
    if (!flag.env) continue;
    const where = [`env ${flag.env}`, ...(flag.name === CONFIG_FLAG || flag.name === HELP_FLAG ? [] : [`file key "${flag.key}"`])];
    if (USAGE_INDENT + where.join(', ').length <= USAGE_WIDTH) lines.push(`${indent}${where.join(', ')}`);
    else lines.push(...where.map((w) => `${indent}${w}`));
  }
  return `${lines.join('\n')}\n`;
}

const USAGE_INDENT = 34;
const USAGE_WIDTH = 100;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

interface FoundValue {
  readonly raw: unknown;
  readonly origin: ValueOrigin;
}

export interface ResolvedFields<F extends ConfigFieldSpecs> {
  /** Parsed values; undefined where no source gave one (the caller applies defaults). */
  readonly values: { -readonly [K in keyof F]: (F[K] extends ConfigFieldSpec<infer T> ? T : never) | undefined };
  readonly origins: { readonly [K in keyof F]: ValueOrigin };
  /** The config file's path, if one was read. */
  readonly file: string | undefined;
}

/**
 * Reads each field from the highest source that has it and parses it there, so the error names
 * that source. Unknown flags and unknown config-file keys are errors naming them. Empty
 * environment variables count as unset.
 */
export function resolveFields<F extends ConfigFieldSpecs>(fields: F, sources: ConfigSources): ResolvedFields<F> {
  const keys = Object.keys(fields);
  const flagToKey = new Map(keys.map((key) => [flagNameOf(key), key]));
  for (const [name, value] of Object.entries(sources.flags)) {
    if (value === undefined || name === HELP_FLAG || name === CONFIG_FLAG) continue;
    if (!flagToKey.has(name)) throw new ConfigurationError(`--${name}`, `unknown flag${suggestion(name, keys.map(flagNameOf), (k) => `--${k}`)}; see --help`);
  }
  const { path, content } = readConfigFile(sources);
  if (content) {
    for (const key of Object.keys(content)) {
      if (!(key in fields)) {
        throw new ConfigurationError(`config file ${path}: ${key}`, `unknown key${suggestion(key, keys, (k) => k)}; known keys: ${keys.join(', ')}`);
      }
    }
  }

  const values: Record<string, unknown> = {};
  const origins: Record<string, ValueOrigin> = {};
  for (const key of keys) {
    const spec = fields[key]!;
    const found = findValue(key, spec, sources, path, content);
    origins[key] = found?.origin ?? { source: 'default', label: key };
    values[key] = found === undefined ? undefined : spec.parse(found.raw, found.origin.label);
  }
  return { values: values as ResolvedFields<F>['values'], origins: origins as ResolvedFields<F>['origins'], file: path };
}

function findValue(key: string, spec: ConfigFieldSpec<unknown>, sources: ConfigSources, path: string | undefined, content: Record<string, unknown> | undefined): FoundValue | undefined {
  const flag = flagNameOf(key);
  const flagValue = sources.flags[flag];
  if (flagValue !== undefined) {
    if (flagValue === true && !spec.boolean) throw new ConfigurationError(`--${flag}`, `needs a value (--${flag} ${spec.valueName})`);
    return { raw: flagValue, origin: { source: 'flag', label: `--${flag}` } };
  }
  const env = envNameOf(key);
  const envValue = sources.env[env];
  if (envValue !== undefined && envValue !== '') return { raw: envValue, origin: { source: 'env', label: env } };
  if (content && content[key] !== undefined && content[key] !== null) {
    return { raw: content[key], origin: { source: 'file', label: `config file ${path}: ${key}` } };
  }
  return undefined;
}

function readConfigFile(sources: ConfigSources): { path: string | undefined; content: Record<string, unknown> | undefined } {
  const fromFlag = sources.flags[CONFIG_FLAG];
  if (fromFlag === true) throw new ConfigurationError(`--${CONFIG_FLAG}`, 'needs a value (--config FILE)');
  const envPath = sources.env.SLUICE_CONFIG === '' ? undefined : sources.env.SLUICE_CONFIG;
  const path = sources.file ?? (typeof fromFlag === 'string' ? fromFlag : undefined) ?? envPath;
  if (path === undefined) return { path, content: undefined };
  const label = sources.file !== undefined || typeof fromFlag === 'string' ? `--${CONFIG_FLAG}` : 'SLUICE_CONFIG';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigurationError(label, code === 'ENOENT' ? `config file ${path} does not exist` : `cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`config file ${path}`, `is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw new ConfigurationError(`config file ${path}`, 'must hold a JSON object of options with camelCase keys, e.g. {"restPort": 8081}');
  }
  return { path, content: content as Record<string, unknown> };
}

/** ", did you mean X?" when a known name differs only in case, dashes or underscores. */
function suggestion(name: string, known: readonly string[], show: (k: string) => string): string {
  const normal = (s: string) => s.replace(/[-_]/g, '').toLowerCase();
  const match = known.find((k) => normal(k) === normal(name));
  return match === undefined ? '' : `, did you mean ${show(match)}?`;
}

/** Freezes an object and every object and array inside it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
