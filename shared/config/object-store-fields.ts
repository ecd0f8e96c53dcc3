// Where `s3://` locations (checkpoints, snapshots) are served from, as flags, SLUICE_S3_*
// variables or config keys of the coordinator and the worker. Credentials are not flags (they
// would show in `ps`): they come from SLUICE_S3_ACCESS_KEY_ID / SLUICE_S3_SECRET_ACCESS_KEY or the
// AWS SDK's usual chain (environment, profiles, instance and task roles).

import { text } from './config-values.ts';
import type { ConfigFieldSpec } from './config-sources.ts';

export const OBJECT_STORE_FIELDS = {
  s3Endpoint: {
    valueName: 'URL',
    description: 'Endpoint of an S3-compatible store for s3:// locations (path-style requests).',
    defaultText: 'AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS itself',
    parse: text('an http:// or https:// URL', /^https?:\/\/[^/]+/),
  } satisfies ConfigFieldSpec<string>,
  s3Region: {
    valueName: 'REGION',
    description: 'Region of s3:// locations.',
    defaultText: 'AWS_REGION or AWS_DEFAULT_REGION, else us-east-1',
    parse: text('a region name'),
  } satisfies ConfigFieldSpec<string>,
};

export interface ObjectStoreSettings {
  readonly s3Endpoint: string | undefined;
  readonly s3Region: string | undefined;
}

/**
 * Makes the resolved settings what the object stores of this process read (SLUICE_S3_ENDPOINT,
 * SLUICE_S3_REGION), so a flag or a config key wins as it does for every other setting.
 */
export function applyObjectStoreSettings(settings: ObjectStoreSettings, env: NodeJS.ProcessEnv = process.env): void {
  if (settings.s3Endpoint !== undefined) env.SLUICE_S3_ENDPOINT = settings.s3Endpoint;
  if (settings.s3Region !== undefined) env.SLUICE_S3_REGION = settings.s3Region;
}
