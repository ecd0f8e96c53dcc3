// `sluice package` options: parsed once, validated (every error names its flag), defaults applied.

import { basename, extname } from 'node:path';
import { parseS3ObjectUrl, type S3CodeLocation } from '../shared/application-code/index.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { parseCommandArgs } from './command-args.ts';

export const PACKAGE_USAGE = `Usage: sluice package <app.ts|app.js> [-o app.zip] [--upload s3://BUCKET/KEY]

Builds the application and its dependencies into one ES module bundle (esbuild, Node 20) and
writes a zip archive holding the bundle (app.mjs) and sluice-manifest.json (entry, runtime,
the bundle's SHA-256). Sluice itself ('sluice', 'sluice/connectors', relative imports of its
shared/ and worker/ folders) is not bundled: the runtime provides it, as Flink provides its jars.
Prints the archive's size and SHA-256.

Options:
  -o, --output FILE             the archive to write (default: <app>.zip in the current folder)
  --upload s3://BUCKET/KEY      also upload the archive there; prints the object's VersionId when
                                the bucket is versioned (credentials from SLUICE_S3_ACCESS_KEY_ID /
                                SLUICE_S3_SECRET_ACCESS_KEY or the usual AWS settings)
  --s3-endpoint URL             endpoint of an S3-compatible store (default SLUICE_S3_ENDPOINT,
                                AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS itself)
  --s3-region REGION            (default SLUICE_S3_REGION, AWS_REGION, else us-east-1)
  --help                        this text
`;

export interface PackageOptions {
  readonly application: string;
  readonly output: string;
  readonly upload: S3CodeLocation | undefined;
  readonly s3Endpoint: string | undefined;
  readonly s3Region: string | undefined;
}

/** Parses `sluice package` arguments; ConfigurationError naming the flag on bad input. */
export function parsePackageOptions(args: readonly string[]): PackageOptions | 'help' {
  const parsed = parseCommandArgs(
    args,
    {
      output: { type: 'string', short: 'o' },
      upload: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-region': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'package',
  );
  const values = parsed.values;
  if (values.help) return 'help';
  if (parsed.positionals.length !== 1) {
    throw new ConfigurationError(
      'application',
      parsed.positionals.length === 0 ? 'give the application file: sluice package app.ts -o app.zip' : `expected one application file, got ${parsed.positionals.join(' ')}`,
    );
  }
  const application = parsed.positionals[0]!;
  if (values.output !== undefined && !values.output.endsWith('.zip')) throw new ConfigurationError('--output', `"${values.output}" must end with .zip`);
  if (values['s3-endpoint'] !== undefined && !/^https?:\/\/[^/]+/.test(values['s3-endpoint'])) {
    throw new ConfigurationError('--s3-endpoint', `"${values['s3-endpoint']}" is not an http:// or https:// URL`);
  }
  if (values['s3-region'] === '') throw new ConfigurationError('--s3-region', 'must not be empty');
  return {
    application,
    output: values.output ?? `${basename(application, extname(application))}.zip`,
    upload: values.upload === undefined ? undefined : parseS3ObjectUrl(values.upload, '--upload'),
    s3Endpoint: values['s3-endpoint'],
    s3Region: values['s3-region'],
  };
}
