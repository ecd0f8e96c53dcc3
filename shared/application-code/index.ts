// What the application-code folder offers: the archive `sluice package` writes (a bundle and its
// manifest), where code lives (S3 or a local path), the fetcher that downloads, checks and caches
// it for loadApplication, and the resolution of the runtime's own modules (`sluice`,
// `sluice/connectors`) from a bundle unpacked anywhere.

export {
  ARCHIVE_FORMAT_VERSION,
  ARCHIVE_MANIFEST_NAME,
  SLUICE_RUNTIME,
  readApplicationArchive,
  sha256Hex,
  writeApplicationArchive,
  type ApplicationArchive,
  type ApplicationManifest,
  type WriteArchiveRequest,
} from './application-archive.ts';
export { ApplicationCodeCache, type CachedApplicationCode } from './application-code-cache.ts';
export {
  ApplicationCodeFetcher,
  DEFAULT_CODE_CACHE_DIRECTORY,
  type ApplicationCodeFetcherOptions,
  type FetchCodeOptions,
  type FetchedApplicationCode,
} from './application-code-fetcher.ts';
export { S3ApplicationArchiveReader, type ApplicationArchiveReader, type S3ApplicationArchiveReaderOptions } from './archive-reader.ts';
export { applicationModulePath, isPackagedCode } from './application-module.ts';
export {
  codeLocationUrl,
  describeCodeLocation,
  parseCodeLocationUrl,
  isS3CodeLocation,
  parseS3ObjectUrl,
  type ApplicationCodeLocation,
  type LocalCodeLocation,
  type S3CodeLocation,
} from './code-location.ts';
export { ApplicationCodeError } from './errors.ts';
export { installationRoot, installedPackage, packageRoot, registerRuntimeModuleResolution, runtimeModuleUrls, runtimeSpecifierOfFile } from './runtime-modules.ts';
