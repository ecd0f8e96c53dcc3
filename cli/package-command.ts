// `sluice package`: bundles the application (application-bundler.ts), writes the archive with its
// manifest, and uploads it to S3 when asked. The S3 store is opened as every s3:// location is
// (createObjectStore), with --s3-endpoint / --s3-region winning over the environment.

import { promises as fs } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { describeCodeLocation, writeApplicationArchive, type ApplicationManifest, type S3CodeLocation } from '../shared/application-code/index.ts';
import { applyObjectStoreSettings } from '../shared/config/object-store-fields.ts';
import { createObjectStore, S3ObjectStore } from '../shared/object-store/index.ts';
import { bundleApplication } from './application-bundler.ts';
import type { PackageOptions } from './package-options.ts';

/** The bundle's name inside the archive. */
export const BUNDLE_ENTRY = 'app.mjs';

export interface PackageResult {
  readonly archivePath: string;
  readonly archiveBytes: number;
  readonly archiveSha256: string;
  readonly bundleBytes: number;
  readonly manifest: ApplicationManifest;
  /** Present when uploaded; `versionId` only when the bucket is versioned. */
  readonly upload: { readonly location: S3CodeLocation; readonly versionId: string | undefined } | undefined;
}

export interface PackageOutput {
  /** Results, for the user and for scripts. */
  readonly out: NodeJS.WritableStream;
  /** Progress. */
  readonly err: NodeJS.WritableStream;
}

export async function packageCommand(options: PackageOptions, output: PackageOutput = { out: process.stdout, err: process.stderr }): Promise<PackageResult> {
  output.err.write(`bundling ${options.application} with esbuild…\n`);
  const bundle = await bundleApplication(options.application);
  for (const warning of bundle.warnings) output.err.write(`warning: ${warning}\n`);

  const archive = writeApplicationArchive({ bundle: bundle.code, entry: BUNDLE_ENTRY, source: basename(options.application) });
  const archivePath = resolve(options.output);
  await fs.mkdir(dirname(archivePath), { recursive: true });
  // Never a half-written archive under the name a user or a script picks up.
  const temp = `${archivePath}.${process.pid}.tmp`;
  await fs.writeFile(temp, archive.bytes);
  await fs.rename(temp, archivePath);
  output.out.write(
    `packaged ${options.application} (${bundle.inputs.length} source file${bundle.inputs.length === 1 ? '' : 's'}) into ${options.output}\n` +
      `  bundle   ${BUNDLE_ENTRY}, ${formatBytes(bundle.code.length)}, sha256 ${archive.manifest.sha256}\n` +
      `  archive  ${formatBytes(archive.bytes.length)}, sha256 ${archive.archiveSha256}\n`,
  );

  let upload: PackageResult['upload'];
  if (options.upload !== undefined) {
    const location = options.upload;
    const versionId = await uploadArchive(location, archive.bytes, options);
    upload = { location, versionId };
    output.out.write(
      `uploaded ${describeCodeLocation(location)}` +
        (versionId === undefined ? ' (the bucket is not versioned: no VersionId)\n' : `\n  version  ${versionId}\n`),
    );
  }
  return {
    archivePath,
    archiveBytes: archive.bytes.length,
    archiveSha256: archive.archiveSha256,
    bundleBytes: bundle.code.length,
    manifest: archive.manifest,
    upload,
  };
}

async function uploadArchive(location: S3CodeLocation, bytes: Uint8Array, options: PackageOptions): Promise<string | undefined> {
  const env = { ...process.env };
  applyObjectStoreSettings(options, env);
  const store = createObjectStore(`s3://${location.bucket}`, { field: '--upload', env });
  try {
    if (!(store instanceof S3ObjectStore)) throw new Error(`--upload s3://${location.bucket} did not open an S3 store`);
    return (await store.putReturningVersion(location.key, bytes)).versionId;
  } finally {
    await store.close();
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}
