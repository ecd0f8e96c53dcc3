// The modules the runtime provides to applications, as Flink provides its own jars: `sluice` and
// `sluice/connectors` (package.json "exports"). `sluice package` leaves them out of the bundle;
// at load time they must resolve to this installation, wherever the bundle was unpacked. Node
// resolves a bare specifier from the importing file's folder, so a bundle in a cache folder under
// /tmp cannot find them by itself: registerRuntimeModuleResolution installs a resolve hook
// (node:module `register`) that maps exactly these specifiers to this installation's entry files.
// Those are the same URLs the runtime's own imports load, so an application and the runtime share
// one copy of every class.

import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding this installation's shared/, worker/ and cli/ code: the repository in a
 * checkout (TypeScript run as it is), `dist/` in an installed package (the JavaScript `npm run
 * build` made).
 */
const INSTALLATION_URL = new URL('../../', import.meta.url);

/** The folder of the installation's package.json: the code's folder in a checkout, its parent in a package. */
const PACKAGE_URL = existsSync(new URL('package.json', INSTALLATION_URL)) ? INSTALLATION_URL : new URL('../', INSTALLATION_URL);

/**
 * The package.json "exports" condition this installation loads: a checkout runs its TypeScript
 * sources ("sluice-source", which tsconfig.json and the test runner name too); a built package
 * runs dist/ ("default").
 */
const EXPORTS_CONDITION = import.meta.url.endsWith('.ts') ? 'sluice-source' : 'default';

type ExportTarget = string | { readonly [condition: string]: string };

/** Bare specifier → file URL of the module it names in this installation, from package.json "exports". */
export function runtimeModuleUrls(): ReadonlyMap<string, string> {
  const packageJson = JSON.parse(readFileSync(new URL('package.json', PACKAGE_URL), 'utf8')) as {
    name: string;
    exports: Record<string, ExportTarget>;
  };
  const modules = new Map<string, string>();
  for (const [subpath, target] of Object.entries(packageJson.exports)) {
    const file = typeof target === 'string' ? target : target[EXPORTS_CONDITION];
    if (file === undefined) throw new Error(`package.json exports "${subpath}" has no "${EXPORTS_CONDITION}" target`);
    const specifier = subpath === '.' ? packageJson.name : `${packageJson.name}/${subpath.replace(/^\.\//, '')}`;
    modules.set(specifier, new URL(file, PACKAGE_URL).href);
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

/** The folder of the installation's package.json (and bin/). */
export function packageRoot(): string {
  return fileURLToPath(PACKAGE_URL);
}

/** The installation's package name and version, from its package.json. */
export function installedPackage(): { readonly name: string; readonly version: string } {
  const { name, version } = JSON.parse(readFileSync(new URL('package.json', PACKAGE_URL), 'utf8')) as { name: string; version: string };
  return { name, version };
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
