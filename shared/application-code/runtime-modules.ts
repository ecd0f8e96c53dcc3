// The modules the runtime provides to applications, as Flink provides its own jars: `sluice` and
// `sluice/connectors` (package.json "exports"). `sluice package` leaves them out of the bundle;
// at load time they must resolve to this installation, wherever the bundle was unpacked. Node
// resolves a bare specifier from the importing file's folder, so a bundle in a cache folder under
// /tmp cannot find them by itself: registerRuntimeModuleResolution installs a resolve hook
// (node:module `register`) that maps exactly these specifiers to this installation's entry files.
// Those are the same URLs the runtime's own imports load, so an application and the runtime share
// one copy of every class.

import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The installation's root: the folder of its package.json. */
const INSTALLATION_URL = new URL('../../', import.meta.url);

/** Bare specifier → file URL of the module it names in this installation, from package.json "exports". */
export function runtimeModuleUrls(): ReadonlyMap<string, string> {
  const packageJson = JSON.parse(readFileSync(new URL('package.json', INSTALLATION_URL), 'utf8')) as {
    name: string;
    exports: Record<string, string>;
  };
  const modules = new Map<string, string>();
  for (const [subpath, target] of Object.entries(packageJson.exports)) {
    const specifier = subpath === '.' ? packageJson.name : `${packageJson.name}/${subpath.replace(/^\.\//, '')}`;
    modules.set(specifier, new URL(target, INSTALLATION_URL).href);
  }
  return modules;
}

/** The bare specifier whose entry file is `path`, if any. */
export function runtimeSpecifierOfFile(path: string): string | undefined {
  for (const [specifier, url] of runtimeModuleUrls()) if (fileURLToPath(url) === path) return specifier;
  return undefined;
}

export function installationRoot(): string {
  return fileURLToPath(INSTALLATION_URL);
}

let registered = false;

/**
 * Makes `import … from 'sluice'` (and the other runtime specifiers) resolve to this installation
 * in every module loaded from now on. Idempotent; the hooks run on Node's loader thread.
 */
export function registerRuntimeModuleResolution(): void {
  if (registered) return;
  registered = true;
  register('./runtime-module-resolution-hook.mjs', import.meta.url, {
    data: { modules: Object.fromEntries(runtimeModuleUrls()) },
  });
}
