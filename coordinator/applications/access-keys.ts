// Who may call the applications API, and what each caller may do: access keys with a small
// IAM-like policy (actions, application names), kept in a JSON file by the operator today and in
// the HA store later, both behind AccessKeyStore. Unsigned requests are refused unless the file
// says `allowAnonymous: true`.
//
//   { "allowAnonymous": false,
//     "keys": [{ "accessKeyId": "AKIASLUICEOPS", "secretAccessKey": "…",
//                "actions": ["kinesisanalytics:Describe*", "kinesisanalytics:List*"],
//                "applications": ["orders-*"] }] }

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigurationError } from '../../shared/errors.ts';
import { configurationErrorFromZod } from '../../shared/config/configuration-error-from-zod.ts';
import { AccessDeniedException } from './kinesis-analytics-errors.ts';
import { KINESIS_ANALYTICS_OPERATIONS, type KinesisAnalyticsOperationName } from './kinesis-analytics-operations.ts';

export const ACTION_PREFIX = 'kinesisanalytics:';

export interface AccessPolicy {
  /** `kinesisanalytics:<Operation>`, with `*` matching any characters (case-insensitive, as IAM); `*` alone for all. */
  readonly actions: readonly string[];
  /** Application names, with `*` matching any characters: `*`, `orders`, `orders-*`. */
  readonly applications: readonly string[];
}

export interface AccessKey extends AccessPolicy {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests signed with this key must carry it in `x-amz-security-token`. */
  readonly sessionToken?: string;
}

/** Who made a request, as the operations see it: never the secret. */
export type Principal =
  | { readonly kind: 'access-key'; readonly accessKeyId: string; readonly policy: AccessPolicy }
  | { readonly kind: 'anonymous'; readonly policy: AccessPolicy };

export interface AccessKeyStore {
  findAccessKey(accessKeyId: string): Promise<AccessKey | undefined>;
  /** The policy of unsigned requests; undefined when they are refused. */
  anonymousPolicy(): Promise<AccessPolicy | undefined>;
}

export interface AccessKeysConfig {
  readonly allowAnonymous: boolean;
  /** What unsigned requests may do; present exactly when they are allowed (everything, unless the file says less). */
  readonly anonymous?: AccessPolicy;
  readonly keys: readonly AccessKey[];
}

const FULL_ACCESS: AccessPolicy = { actions: [`${ACTION_PREFIX}*`], applications: ['*'] };

// --- the policy ---

function globPattern(glob: string, flags: string): RegExp {
  const source = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`, flags);
}

function actionMatches(pattern: string, action: string): boolean {
  return globPattern(pattern, 'i').test(action);
}

/** `undefined`: the operation acts on no one application (ListApplications) and needs a key allowed on all of them. */
function applicationMatches(pattern: string, applicationName: string | undefined): boolean {
  if (applicationName === undefined) return pattern === '*';
  return globPattern(pattern, '').test(applicationName);
}

export type AuthorizationDecision = { readonly allowed: true } | { readonly allowed: false; readonly error: AccessDeniedException };

/**
 * Whether `principal` may call `operation` on `applicationName` (undefined for an operation on no
 * one application). A refusal names the caller, the action, the resource and which part of the
 * policy did not match.
 */
export function authorize(principal: Principal, operation: KinesisAnalyticsOperationName, applicationName?: string): AuthorizationDecision {
  const action = `${ACTION_PREFIX}${operation}`;
  const resource = applicationName === undefined ? '*' : `application/${applicationName}`;
  const who = principal.kind === 'anonymous' ? 'Anonymous caller' : `Access key ${principal.accessKeyId}`;
  const refuse = (because: string): AuthorizationDecision => ({
    allowed: false,
    error: new AccessDeniedException(`${who} is not authorized to perform: ${action} on resource: ${resource} because ${because}`),
  });
  if (!principal.policy.actions.some((pattern) => actionMatches(pattern, action))) return refuse(`no action of its policy matches ${action}`);
  if (!principal.policy.applications.some((pattern) => applicationMatches(pattern, applicationName))) {
    return refuse(applicationName === undefined ? `the operation acts on every application and its policy does not allow "*"` : `no application of its policy matches '${applicationName}'`);
  }
  return { allowed: true };
}

// --- the file ---

const actionSchema = z.string().superRefine((action, context) => {
  if (action === '*') return;
  if (!action.toLowerCase().startsWith(ACTION_PREFIX)) {
    context.addIssue({ code: 'custom', message: `'${action}' is not an action: write ${ACTION_PREFIX}<Operation>, ${ACTION_PREFIX}* or *` });
    return;
  }
  // A pattern that matches no operation is a typo that would silently allow nothing.
  if (!KINESIS_ANALYTICS_OPERATIONS.some((operation) => actionMatches(action, `${ACTION_PREFIX}${operation}`))) {
    context.addIssue({ code: 'custom', message: `'${action}' matches no operation of the API (DescribeApplication, StartApplication, …)` });
  }
});

const applicationPatternSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.*-]{1,128}$/, "must be an application name (letters, digits, '_', '.', '-'), with '*' matching any characters");

const policySchema = {
  actions: z.array(actionSchema).min(1, 'needs at least one action, for example "kinesisanalytics:*"'),
  applications: z.array(applicationPatternSchema).min(1, 'needs at least one application name or pattern, for example "*"'),
};

const accessKeySchema = z
  .object({
    // The id travels in the Credential of a signature, where '/' and ',' separate parts.
    accessKeyId: z.string().regex(/^[A-Za-z0-9_+=.@-]{3,128}$/, "must be 3 to 128 letters, digits or '_+=.@-'"),
    secretAccessKey: z.string().min(16, 'must be at least 16 characters'),
    sessionToken: z.string().min(1, 'must not be empty; leave it out for a key without a session token').optional(),
    ...policySchema,
  })
  .strict();

const accessKeysFileSchema = z
  .object({
    allowAnonymous: z.boolean().default(false),
    anonymous: z.object(policySchema).strict().optional(),
    keys: z.array(accessKeySchema).default([]),
  })
  .strict()
  .superRefine((file, context) => {
    const seen = new Map<string, number>();
    file.keys.forEach((key, index) => {
      const first = seen.get(key.accessKeyId);
      if (first !== undefined) context.addIssue({ code: 'custom', path: ['keys', index, 'accessKeyId'], message: `'${key.accessKeyId}' is also keys[${first}]` });
      seen.set(key.accessKeyId, index);
    });
    if (file.anonymous !== undefined && !file.allowAnonymous) {
      context.addIssue({ code: 'custom', path: ['anonymous'], message: 'is given but allowAnonymous is not true: set allowAnonymous to let unsigned requests in' });
    }
    if (file.keys.length === 0 && !file.allowAnonymous) {
      context.addIssue({ code: 'custom', path: ['keys'], message: 'has no access key and allowAnonymous is not true: every request would be refused' });
    }
  });

/** `keys[1].actions[0]`, as the operator sees the file. */
function fieldOfPath(path: readonly (string | number)[]): string {
  return path.map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`)).join('') || 'the file';
}

/** An access keys document as written: `allowAnonymous` and `keys` may be left out. */
export type AccessKeysConfigInput = z.input<typeof accessKeysFileSchema>;

/** Validates an access keys document; `source` names it in errors (a file path). */
export function parseAccessKeysConfig(value: unknown, source: string): AccessKeysConfig {
  const result = accessKeysFileSchema.safeParse(value);
  if (!result.success) throw configurationErrorFromZod(result.error, (path) => `${source}: ${fieldOfPath(path)}`);
  const { allowAnonymous, anonymous, keys } = result.data;
  return { allowAnonymous, ...(allowAnonymous ? { anonymous: anonymous ?? FULL_ACCESS } : {}), keys };
}

/** The keys without their secrets, for the log line that says what the service accepts. */
export function describeAccessKeys(config: AccessKeysConfig): Record<string, unknown> {
  return {
    allowAnonymous: config.allowAnonymous,
    ...(config.anonymous ? { anonymous: config.anonymous } : {}),
    keys: config.keys.map(({ accessKeyId, actions, applications, sessionToken }) => ({
      accessKeyId,
      actions,
      applications,
      ...(sessionToken === undefined ? {} : { sessionToken: '***' }),
    })),
  };
}

/** Keys held in memory: the embedded service's, and tests'. */
export class InMemoryAccessKeyStore implements AccessKeyStore {
  private keysById: ReadonlyMap<string, AccessKey> = new Map();
  private anonymous: AccessPolicy | undefined;

  /** Validates `config` as the file would be; `source` names it in errors. */
  constructor(config: AccessKeysConfigInput | AccessKeysConfig, source = 'access keys') {
    this.replace(parseAccessKeysConfig(config, source));
  }

  async findAccessKey(accessKeyId: string): Promise<AccessKey | undefined> {
    return this.keysById.get(accessKeyId);
  }

  async anonymousPolicy(): Promise<AccessPolicy | undefined> {
    return this.anonymous;
  }

  /** Swaps in another set of keys at once: a request sees the old set or the new one. */
  protected replace(config: AccessKeysConfig): void {
    this.keysById = new Map(config.keys.map((key) => [key.accessKeyId, key]));
    this.anonymous = config.anonymous;
  }
}

/** Keys from the operator's JSON file; `reload()` picks up an edited file without a restart. */
export class FileAccessKeyStore extends InMemoryAccessKeyStore {
  private constructor(
    readonly path: string,
    config: AccessKeysConfig,
  ) {
    super(config, path);
  }

  static async load(path: string): Promise<FileAccessKeyStore> {
    return new FileAccessKeyStore(path, await readAccessKeysFile(path));
  }

  /** Reads the file again; a file that does not validate throws and leaves the keys as they were. */
  async reload(): Promise<AccessKeysConfig> {
    const config = await readAccessKeysFile(this.path);
    this.replace(config);
    return config;
  }
}

export async function readAccessKeysFile(path: string): Promise<AccessKeysConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(path, `cannot read the access keys file: ${(error as Error).message}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(path, `the access keys file is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseAccessKeysConfig(value, path);
}
