// Loads an application module (TypeScript, JavaScript, or a bundle `sluice package` made) and
// checks that its default export is a pipeline builder: `export default (env, properties) => { ... }`.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StreamExecutionEnvironment, type Application, type ApplicationProperties } from './api/environment.ts';
import { applicationModulePath } from './application-code/application-module.ts';
import { registerRuntimeModuleResolution } from './application-code/runtime-modules.ts';
import { ApplicationLoadError, SluiceError } from './errors.ts';

/** Loads the application at `location`: a module path, a `.zip` from `sluice package`, or `s3://bucket/key?versionId=v`. */
export async function loadApplication(location: string): Promise<Application> {
  let path: string;
  try {
    path = await applicationModulePath(location);
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    throw new ApplicationLoadError(`application ${location}: fetching its code failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new ApplicationLoadError(`application ${path}: no such file`);
  const formatProblem = commonJsProblem(absolute);
  if (formatProblem) throw new ApplicationLoadError(`application ${path} ${formatProblem}`);
  // A packaged application imports 'sluice' by name from wherever it was unpacked.
  registerRuntimeModuleResolution();
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ApplicationLoadError(`application ${path} failed to load: ${message}`, { cause: error });
  }
  // A CommonJS-compiled module puts the default export one level down.
  let main = module.default;
  if (main && typeof main === 'object' && typeof (main as Record<string, unknown>).default === 'function') {
    main = (main as Record<string, unknown>).default;
  }
  if (typeof main !== 'function') {
    throw new ApplicationLoadError(
      `application ${path} has no default export function; write \`export default (env, properties) => { ... }\` that builds the pipeline`,
    );
  }
  return main as Application;
}

/**
 * Why the module at `path` would load as CommonJS, which cannot import Sluice (an ES module
 * graph): a .ts or .js file is CommonJS unless the nearest package.json says "type": "module".
 * Undefined when it loads as an ES module.
 */
export function commonJsProblem(path: string): string | undefined {
  const extension = extname(path);
  if (extension !== '.ts' && extension !== '.js') return undefined;
  const esmName = `${basename(path, extension)}${extension === '.ts' ? '.mts' : '.mjs'}`;
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    const packageJsonPath = join(folder, 'package.json');
    if (existsSync(packageJsonPath)) {
      let type: unknown;
      try {
        type = (JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { type?: unknown }).type;
      } catch (error) {
        return `cannot be loaded: ${packageJsonPath} is not valid JSON (${error instanceof Error ? error.message : String(error)})`;
      }
      if (type === 'module') return undefined;
      return (
        `would load as CommonJS: ${packageJsonPath} has ${type === undefined ? 'no "type"' : `"type": ${JSON.stringify(type)}`}, and Sluice applications are ES modules. ` +
        `Add "type": "module" to ${packageJsonPath}, or rename the file to ${esmName}`
      );
    }
    if (dirname(folder) === folder) {
      return `would load as CommonJS: no package.json above it says "type": "module", and Sluice applications are ES modules. Create a package.json with "type": "module" in its project folder (sluice init makes one), or rename the file to ${esmName}`;
    }
  }
}

/** Loads the application and runs its builder on a fresh environment. */
export async function buildApplication(
  path: string,
  jobName: string,
  properties: ApplicationProperties,
): Promise<StreamExecutionEnvironment> {
  const application = await loadApplication(path);
  const env = new StreamExecutionEnvironment();
  env.setJobName(jobName);
  try {
    await application(env, properties);
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ApplicationLoadError(`application ${path}: building the pipeline failed: ${message}`, { cause: error });
  }
  return env;
}
