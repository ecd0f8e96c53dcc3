// `sluice apps` options: each command's arguments and flags parsed once, validated (every error
// names its flag or argument), defaults applied. What reaches the command is a typed request.

import type { ParseArgsConfig } from 'node:util';
import { parseCodeLocationUrl, isS3CodeLocation, type S3CodeLocation } from '../shared/application-code/code-location.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { parseCommandArgs } from './command-args.ts';

export const DEFAULT_APPS_ENDPOINT = 'http://127.0.0.1:8081';
export const DEFAULT_APPS_REGION = 'us-east-1';
export const DEFAULT_WAIT_TIMEOUT_MS = 600_000;

const COMMON_TEXT = `Options (every command):
  --endpoint URL                the coordinator's REST address (env SLUICE_COORDINATOR_URL; default ${DEFAULT_APPS_ENDPOINT})
  --region REGION               the region requests are signed for (env AWS_REGION; default ${DEFAULT_APPS_REGION})
  --access-key-id ID            with --secret-access-key [--session-token]: the access key to sign with;
  --secret-access-key SECRET    otherwise the AWS SDK's usual chain (AWS_ACCESS_KEY_ID and
  --session-token TOKEN         AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)
  --output table|json           tables and key/value lines (default), or the API's response as JSON
  --help                        this text
`;

const CONFIGURATION_TEXT = `  --code s3://BUCKET/KEY[?versionId=V]
                                the archive \`sluice package --upload\` wrote
  --parallelism N               tasks per operator (ParallelismConfiguration CUSTOM)
  --parallelism-per-kpu N       1 to 8
  --autoscaling on|off
  --checkpointing on|off        (CheckpointConfiguration CUSTOM)
  --checkpoint-interval-ms N
  --min-pause-ms N              the least time between one checkpoint's end and the next one's start
  --property GROUP.KEY=VALUE    a runtime property of the application (repeat it)
  --state-backend leveldb|memory
                                where keyed state lives (property group sluice.state; default leveldb)
  --snapshots on|off            snapshots on stop and on request (default on)
  --rollback on|off             system rollback: a new version that fails to start is replaced by
                                the previous one, from the same snapshot (default off)
`;

const WAIT_TEXT = `  --wait                        wait for the operation to end (progress on stderr); exit 1 if it failed
  --timeout-ms N                how long --wait waits (default ${DEFAULT_WAIT_TIMEOUT_MS})
`;

interface CommandSpec {
  readonly synopsis: string;
  readonly summary: string;
  readonly optionsText: string;
  readonly options: ParseArgsConfig['options'];
}

const CONNECTION_OPTIONS = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  'access-key-id': { type: 'string' },
  'secret-access-key': { type: 'string' },
  'session-token': { type: 'string' },
  output: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const WAIT_OPTIONS = { wait: { type: 'boolean' }, 'timeout-ms': { type: 'string' } } as const;

const CONFIGURATION_OPTIONS = {
  code: { type: 'string' },
  parallelism: { type: 'string' },
  'parallelism-per-kpu': { type: 'string' },
  autoscaling: { type: 'string' },
  checkpointing: { type: 'string' },
  'checkpoint-interval-ms': { type: 'string' },
  'min-pause-ms': { type: 'string' },
  property: { type: 'string', multiple: true },
  'state-backend': { type: 'string' },
  snapshots: { type: 'string' },
  rollback: { type: 'string' },
} as const;

const COMMANDS = {
  create: {
    synopsis: 'create NAME --code s3://BUCKET/KEY[?versionId=V] [options]',
    summary: 'Creates an application (READY) of runtime SLUICE-1; start it with sluice apps start.',
    optionsText: `${CONFIGURATION_TEXT}  --description TEXT
  --service-execution-role ARN
  --tag KEY=VALUE               (repeat it)
`,
    options: { ...CONFIGURATION_OPTIONS, description: { type: 'string' }, 'service-execution-role': { type: 'string' }, tag: { type: 'string', multiple: true } },
  },
  describe: { synopsis: 'describe NAME', summary: "An application's status, version and configuration.", optionsText: '', options: {} },
  list: { synopsis: 'list', summary: 'Every application: NAME STATUS VERSION RUNTIME.', optionsText: '', options: {} },
  update: {
    synopsis: 'update NAME [options]',
    summary: `Makes a new version of the application from the current one and what the flags change.
A running application is replaced from a snapshot (an operation; --wait waits for it). The
properties given are merged into the current ones.`,
    optionsText: `${CONFIGURATION_TEXT}  --remove-property GROUP[.KEY] drop a property, or a whole group (repeat it)
  --version N                   the version the update applies to (default: the current one, read
                                first); a stale one is refused (ConcurrentModificationException)
${WAIT_TEXT}`,
    options: { ...CONFIGURATION_OPTIONS, 'remove-property': { type: 'string', multiple: true }, version: { type: 'string' }, ...WAIT_OPTIONS },
  },
  start: {
    synopsis: 'start NAME [--restore skip|latest|SNAPSHOT] [--allow-non-restored-state] [--wait]',
    summary: 'Starts a READY application (an operation).',
    optionsText: `  --restore skip|latest|SNAPSHOT
                                start without state, from the latest snapshot (the default), or from
                                the snapshot of that name
  --allow-non-restored-state    start even if some of the snapshot's state has no operator to go to
${WAIT_TEXT}`,
    options: { restore: { type: 'string' }, 'allow-non-restored-state': { type: 'boolean' }, ...WAIT_OPTIONS },
  },
  stop: {
    synopsis: 'stop NAME [--force] [--wait]',
    summary: 'Stops a running application, with a snapshot when snapshots are on (an operation).',
    optionsText: `  --force                       cancel the job without a snapshot, in any status
${WAIT_TEXT}`,
    options: { force: { type: 'boolean' }, ...WAIT_OPTIONS },
  },
  delete: { synopsis: 'delete NAME', summary: 'Deletes an application, its versions and its snapshots (its job is cancelled).', optionsText: '', options: {} },
  snapshot: {
    synopsis: 'snapshot NAME --name SNAPSHOT [--wait]',
    summary: 'Takes a snapshot of a running application.',
    optionsText: `  --name SNAPSHOT               the snapshot's name
  --wait                        wait until it is READY; exit 1 if it FAILED
  --timeout-ms N                how long --wait waits (default ${DEFAULT_WAIT_TIMEOUT_MS})
`,
    options: { name: { type: 'string' }, ...WAIT_OPTIONS },
  },
  snapshots: {
    synopsis: 'snapshots NAME [list | describe SNAPSHOT | delete SNAPSHOT]',
    summary: "An application's snapshots: NAME STATUS VERSION CREATED, newest first.",
    optionsText: '',
    options: {},
  },
  rollback: {
    synopsis: 'rollback NAME [--version N] [--wait]',
    summary: 'Makes a new version from the one before the current one; a running application is replaced from a snapshot.',
    optionsText: `  --version N                   the version to roll back from (default: the current one, read first)
${WAIT_TEXT}`,
    options: { version: { type: 'string' }, ...WAIT_OPTIONS },
  },
  versions: { synopsis: 'versions NAME [describe VERSION]', summary: "An application's versions, newest first, or one version's configuration.", optionsText: '', options: {} },
  operations: {
    synopsis: 'operations NAME [describe OPERATION-ID]',
    summary: "An application's operations: ID OPERATION STATUS START END, newest first, or one with its failure.",
    optionsText: '',
    options: {},
  },
} satisfies Record<string, CommandSpec>;

export type AppsCommandName = keyof typeof COMMANDS;

export const APPS_USAGE = `Usage: sluice apps <command> [arguments] [options]

Applications on a Sluice coordinator, through its kinesisanalyticsv2 API (Amazon Managed Service
for Apache Flink's), with runtime SLUICE-1. Package and upload the code with sluice package --upload.

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.synopsis}`)
  .join('\n')}

sluice apps <command> --help lists a command's options.

${COMMON_TEXT}`;

export function appsCommandUsage(command: AppsCommandName): string {
  const spec: CommandSpec = COMMANDS[command];
  return `Usage: sluice apps ${spec.synopsis}\n\n${spec.summary}\n\n${spec.optionsText ? `Options:\n${spec.optionsText}\n` : ''}${COMMON_TEXT}`;
}

export interface AppsConnection {
  readonly endpoint: string;
  readonly region: string;
  /** From the flags; undefined: the AWS SDK's default chain. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | undefined;
}

export interface WaitOptions {
  readonly wait: boolean;
  readonly timeoutMs: number;
}

export interface PropertySetting {
  readonly group: string;
  readonly key: string;
  readonly value: string;
}

/** What create and update may set; undefined: not given. */
export interface ConfigurationFlags {
  readonly code: S3CodeLocation | undefined;
  readonly parallelism: number | undefined;
  readonly parallelismPerKpu: number | undefined;
  readonly autoScaling: boolean | undefined;
  readonly checkpointing: boolean | undefined;
  readonly checkpointIntervalMs: number | undefined;
  readonly minPauseMs: number | undefined;
  readonly properties: readonly PropertySetting[];
  readonly stateBackend: 'leveldb' | 'memory' | undefined;
  readonly snapshots: boolean | undefined;
  readonly rollback: boolean | undefined;
}

export type AppsRequest =
  | { readonly command: 'create'; readonly name: string; readonly configuration: ConfigurationFlags & { readonly code: S3CodeLocation }; readonly description: string | undefined; readonly serviceExecutionRole: string | undefined; readonly tags: Readonly<Record<string, string>> }
  | { readonly command: 'describe'; readonly name: string }
  | { readonly command: 'list' }
  | { readonly command: 'update'; readonly name: string; readonly configuration: ConfigurationFlags; readonly removeProperties: readonly string[]; readonly version: number | undefined; readonly wait: WaitOptions }
  | { readonly command: 'start'; readonly name: string; readonly restore: 'skip' | 'latest' | { readonly snapshotName: string } | undefined; readonly allowNonRestoredState: boolean; readonly wait: WaitOptions }
  | { readonly command: 'stop'; readonly name: string; readonly force: boolean; readonly wait: WaitOptions }
  | { readonly command: 'delete'; readonly name: string }
  | { readonly command: 'snapshot'; readonly name: string; readonly snapshotName: string; readonly wait: WaitOptions }
  | { readonly command: 'snapshots'; readonly name: string; readonly action: 'list' }
  | { readonly command: 'snapshots'; readonly name: string; readonly action: 'describe' | 'delete'; readonly snapshotName: string }
  | { readonly command: 'rollback'; readonly name: string; readonly version: number | undefined; readonly wait: WaitOptions }
  | { readonly command: 'versions'; readonly name: string; readonly versionId: number | undefined }
  | { readonly command: 'operations'; readonly name: string; readonly operationId: string | undefined };

export interface AppsOptions {
  readonly connection: AppsConnection;
  readonly output: 'table' | 'json';
  readonly request: AppsRequest;
}

/** Parses `sluice apps` arguments; `{ help }` is the text to print; ConfigurationError names the flag on bad input. */
export function parseAppsOptions(args: readonly string[], env: NodeJS.ProcessEnv): AppsOptions | { readonly help: string } {
  const [command, ...rest] = args;
  if (command === undefined) throw new ConfigurationError('<command>', `missing\n\n${APPS_USAGE}`);
  if (command === 'help' || command === '--help' || command === '-h') return { help: APPS_USAGE };
  if (!Object.hasOwn(COMMANDS, command)) throw new ConfigurationError(command, `not a command of sluice apps (${Object.keys(COMMANDS).join(', ')}); see sluice apps --help`);
  const name = command as AppsCommandName;
  const parsed = parseCommandArgs(rest, { ...CONNECTION_OPTIONS, ...COMMANDS[name].options }, `apps ${name}`);
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  if (values.help) return { help: appsCommandUsage(name) };
  const flags = new Flags(values, name);
  const output = flags.string('output') ?? 'table';
  if (output !== 'table' && output !== 'json') throw new ConfigurationError('--output', `table or json, got "${output}"`);
  return { connection: connectionOf(flags, env), output, request: requestOf(name, parsed.positionals, flags) };
}

function connectionOf(flags: Flags, env: NodeJS.ProcessEnv): AppsConnection {
  const endpoint = flags.string('endpoint') ?? env.SLUICE_COORDINATOR_URL ?? DEFAULT_APPS_ENDPOINT;
  const url = endpoint.includes('://') ? endpoint : `http://${endpoint}`;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new ConfigurationError('--endpoint', `"${endpoint}" is not an http:// or https:// URL`);
  const region = flags.string('region') ?? env.AWS_REGION ?? DEFAULT_APPS_REGION;
  const accessKeyId = flags.string('access-key-id');
  const secretAccessKey = flags.string('secret-access-key');
  const sessionToken = flags.string('session-token');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigurationError(accessKeyId === undefined ? '--access-key-id' : '--secret-access-key', 'give both --access-key-id and --secret-access-key, or neither');
  }
  if (sessionToken !== undefined && accessKeyId === undefined) throw new ConfigurationError('--session-token', 'only with --access-key-id and --secret-access-key');
  return {
    endpoint: url,
    region,
    credentials: accessKeyId === undefined ? undefined : { accessKeyId, secretAccessKey: secretAccessKey!, ...(sessionToken === undefined ? {} : { sessionToken }) },
  };
}

function requestOf(command: AppsCommandName, positionals: readonly string[], flags: Flags): AppsRequest {
  const argument = (index: number, what: string): string => {
    const value = positionals[index];
    if (value === undefined) throw new ConfigurationError(what, `missing; usage: sluice apps ${COMMANDS[command].synopsis}`);
    return value;
  };
  const atMost = (count: number) => {
    if (positionals.length > count) throw new ConfigurationError(positionals[count]!, `unexpected argument; usage: sluice apps ${COMMANDS[command].synopsis}`);
  };
  switch (command) {
    case 'list':
      atMost(0);
      return { command };
    case 'describe':
    case 'delete':
      atMost(1);
      return { command, name: argument(0, 'NAME') };
    case 'create': {
      atMost(1);
      const name = argument(0, 'NAME');
      const configuration = configurationOf(flags);
      if (configuration.code === undefined) throw new ConfigurationError('--code', 'missing: the S3 URL of the archive (s3://BUCKET/KEY, from sluice package --upload)');
      return {
        command,
        name,
        configuration: { ...configuration, code: configuration.code },
        description: flags.string('description'),
        serviceExecutionRole: flags.string('service-execution-role'),
        tags: Object.fromEntries(flags.list('tag').map((tag) => {
          const eq = tag.indexOf('=');
          if (eq < 1) throw new ConfigurationError('--tag', `"${tag}" is not KEY=VALUE`);
          return [tag.slice(0, eq), tag.slice(eq + 1)];
        })),
      };
    }
    case 'update': {
      atMost(1);
      const name = argument(0, 'NAME');
      const configuration = configurationOf(flags);
      const removeProperties = flags.list('remove-property');
      for (const removed of removeProperties) {
        if (!/^[^.=]+(\..+)?$/.test(removed)) throw new ConfigurationError('--remove-property', `"${removed}" is not GROUP or GROUP.KEY`);
      }
      const changes = Object.entries(configuration).filter(([, value]) => (Array.isArray(value) ? value.length > 0 : value !== undefined));
      if (changes.length === 0 && removeProperties.length === 0) {
        throw new ConfigurationError('update', `nothing to change: give --code, --parallelism, --property, ... (see sluice apps update --help)`);
      }
      return { command, name, configuration, removeProperties, version: flags.positiveInteger('version'), wait: waitOf(flags) };
    }
    case 'start': {
      atMost(1);
      const restore = flags.string('restore');
      return {
        command,
        name: argument(0, 'NAME'),
        restore: restore === undefined || restore === 'skip' || restore === 'latest' ? restore : { snapshotName: nonEmpty('--restore', restore) },
        allowNonRestoredState: flags.boolean('allow-non-restored-state'),
        wait: waitOf(flags),
      };
    }
    case 'stop':
      atMost(1);
      return { command, name: argument(0, 'NAME'), force: flags.boolean('force'), wait: waitOf(flags) };
    case 'snapshot': {
      atMost(1);
      const name = argument(0, 'NAME');
      const snapshotName = flags.string('name');
      if (snapshotName === undefined) throw new ConfigurationError('--name', 'missing: the name of the snapshot to take');
      return { command, name, snapshotName: nonEmpty('--name', snapshotName), wait: waitOf(flags) };
    }
    case 'snapshots': {
      const name = argument(0, 'NAME');
      const action = positionals[1] ?? 'list';
      if (action === 'list') {
        atMost(2);
        return { command, name, action };
      }
      if (action !== 'describe' && action !== 'delete') throw new ConfigurationError(action, 'expected list, describe SNAPSHOT or delete SNAPSHOT');
      atMost(3);
      return { command, name, action, snapshotName: argument(2, 'SNAPSHOT') };
    }
    case 'rollback':
      atMost(1);
      return { command, name: argument(0, 'NAME'), version: flags.positiveInteger('version'), wait: waitOf(flags) };
    case 'versions':
    case 'operations': {
      const name = argument(0, 'NAME');
      if (positionals[1] === undefined) return command === 'versions' ? { command, name, versionId: undefined } : { command, name, operationId: undefined };
      if (positionals[1] !== 'describe') throw new ConfigurationError(positionals[1], `expected describe ${command === 'versions' ? 'VERSION' : 'OPERATION-ID'}`);
      atMost(3);
      if (command === 'operations') return { command, name, operationId: argument(2, 'OPERATION-ID') };
      return { command, name, versionId: positiveInteger('VERSION', argument(2, 'VERSION')) };
    }
  }
}

function configurationOf(flags: Flags): ConfigurationFlags {
  const code = flags.string('code');
  let location: S3CodeLocation | undefined;
  if (code !== undefined) {
    const parsed = parseCodeLocationUrl(code, '--code');
    if (!isS3CodeLocation(parsed)) throw new ConfigurationError('--code', `"${code}" is not an S3 object URL (s3://BUCKET/KEY[?versionId=V]); upload the archive with sluice package --upload`);
    location = parsed;
  }
  const parallelismPerKpu = flags.positiveInteger('parallelism-per-kpu');
  if (parallelismPerKpu !== undefined && parallelismPerKpu > 8) throw new ConfigurationError('--parallelism-per-kpu', `1 to 8, got ${parallelismPerKpu}`);
  const minPause = flags.string('min-pause-ms');
  const stateBackend = flags.string('state-backend');
  if (stateBackend !== undefined && stateBackend !== 'leveldb' && stateBackend !== 'memory') throw new ConfigurationError('--state-backend', `leveldb or memory, got "${stateBackend}"`);
  return {
    code: location,
    parallelism: flags.positiveInteger('parallelism'),
    parallelismPerKpu,
    autoScaling: flags.onOff('autoscaling'),
    checkpointing: flags.onOff('checkpointing'),
    checkpointIntervalMs: flags.positiveInteger('checkpoint-interval-ms'),
    minPauseMs: minPause === undefined ? undefined : nonNegativeInteger('--min-pause-ms', minPause),
    properties: flags.list('property').map((setting) => {
      const match = /^([^.=]+)\.([^=]+)=(.*)$/.exec(setting);
      if (!match) throw new ConfigurationError('--property', `"${setting}" is not GROUP.KEY=VALUE`);
      return { group: match[1]!, key: match[2]!, value: match[3]! };
    }),
    stateBackend,
    snapshots: flags.onOff('snapshots'),
    rollback: flags.onOff('rollback'),
  };
}

function waitOf(flags: Flags): WaitOptions {
  return { wait: flags.boolean('wait'), timeoutMs: flags.positiveInteger('timeout-ms') ?? DEFAULT_WAIT_TIMEOUT_MS };
}

/** The parsed flag values, read with the type each has and checked, naming the flag. */
class Flags {
  constructor(
    private readonly values: Record<string, string | string[] | boolean | undefined>,
    private readonly command: AppsCommandName,
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  list(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? value : [];
  }

  boolean(name: string): boolean {
    return this.values[name] === true;
  }

  positiveInteger(name: string): number | undefined {
    const value = this.string(name);
    return value === undefined ? undefined : positiveInteger(`--${name}`, value);
  }

  onOff(name: string): boolean | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value === 'on' || value === 'off') return value === 'on';
    throw new ConfigurationError(`--${name}`, `on or off, got "${value}"; see sluice apps ${this.command} --help`);
  }
}

function positiveInteger(field: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new ConfigurationError(field, `"${value}" is not a positive integer`);
  return n;
}

function nonNegativeInteger(field: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new ConfigurationError(field, `"${value}" is not an integer of at least 0`);
  return n;
}

function nonEmpty(field: string, value: string): string {
  if (value === '') throw new ConfigurationError(field, 'must not be empty');
  return value;
}
