// The module to load for a job's code location: a `.ts`/`.js` path as it is, a `.zip` made by
// `sluice package` or an S3 object (`s3://bucket/key?versionId=v`) fetched, checked and cached
// by this process's fetcher, so processes that share no file system run the same code.

import { ApplicationCodeFetcher } from './application-code-fetcher.ts';
import { parseCodeLocationUrl } from './code-location.ts';

let fetcher: ApplicationCodeFetcher | undefined;

/** The fetcher of this process: its cache under SLUICE_CODE_CACHE_DIR, else the system temp folder. */
function processFetcher(): ApplicationCodeFetcher {
  const cacheDirectory = process.env.SLUICE_CODE_CACHE_DIR;
  fetcher ??= new ApplicationCodeFetcher(cacheDirectory ? { cacheDirectory } : {});
  return fetcher;
}

/** Whether `location` needs fetching (an archive or an S3 object) rather than importing as it is. */
export function isPackagedCode(location: string): boolean {
  return location.startsWith('s3://') || location.toLowerCase().endsWith('.zip');
}

export async function applicationModulePath(location: string, field = 'application'): Promise<string> {
  if (!isPackagedCode(location)) return location;
  return (await processFetcher().fetch(parseCodeLocationUrl(location, field))).entryPath;
}
