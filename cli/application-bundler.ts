// Builds an application and its dependencies into one ES module with esbuild, leaving out what the
// runtime provides, as a Flink job jar leaves out Flink: `sluice` and `sluice/connectors`, and any
// relative import of this installation's shared/ or worker/ files (examples import
// '../shared/api/index.ts'), rewritten to those bare specifiers. At load time the runtime resolves
// them to itself (shared/application-code/runtime-modules.ts). Node built-ins stay external.
// The names the bundle imports from the runtime are checked against the runtime's exports here,
// so a deep import the runtime does not export fails at packaging, not on a worker.

import { existsSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { build, type Message, type Plugin } from 'esbuild';
import { installationRoot, runtimeModuleUrls, runtimeSpecifierOfFile } from '../shared/application-code/index.ts';
import { ConfigurationError, SluiceError } from '../shared/errors.ts';

/** The application does not build: esbuild's messages, each with its file:line:column. */
export class ApplicationBuildError extends SluiceError {
  override readonly domain = 'user' as const;
}

export interface BuiltBundle {
  /** The ES module, UTF-8. */
  readonly code: Uint8Array;
  /** Source files that went into the bundle (the runtime's excluded), relative to the working folder. */
  readonly inputs: readonly string[];
  /** Bare runtime specifier → the names the bundle imports from it. */
  readonly runtimeImports: ReadonlyMap<string, readonly string[]>;
  readonly warnings: readonly string[];
}

/** A relative import of the installation's files that the bundle takes from the runtime instead. */
interface ProvidedImport {
  readonly importer: string;
  readonly path: string;
  readonly specifier: string;
}

/** The runtime's folders an application may import relatively; they are never bundled. */
const PROVIDED_FOLDERS = ['shared', 'worker'];

export async function bundleApplication(applicationPath: string): Promise<BuiltBundle> {
  const entry = resolve(applicationPath);
  if (!existsSync(entry) || !statSync(entry).isFile()) throw new ConfigurationError('application', `${applicationPath}: no such file`);
  const provided: ProvidedImport[] = [];
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: 'app.mjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [runtimeModulesPlugin(provided)],
    });
  } catch (error) {
    const messages = (error as { errors?: Message[] }).errors;
    if (!Array.isArray(messages)) throw error;
    // esbuild's own error repeats the messages: they say it all.
    throw new ApplicationBuildError(`${applicationPath} does not build:\n${messages.map(formatMessage).join('\n')}`);
  }
  let text = result.outputFiles[0]!.text;
  // Bundled CommonJS calls require() for built-ins; an ES module has none unless it makes one.
  if (text.includes('Dynamic require of "')) {
    text = `import { createRequire as __sluiceCreateRequire } from "node:module";\nconst require = __sluiceCreateRequire(import.meta.url);\n${text}`;
  }
  const runtimeImports = runtimeImportsOf(text);
  await checkRuntimeExports(applicationPath, runtimeImports, provided);
  return {
    code: new TextEncoder().encode(text),
    inputs: Object.keys(result.metafile.inputs),
    runtimeImports,
    warnings: result.warnings.map(formatMessage),
  };
}

function runtimeModulesPlugin(provided: ProvidedImport[]): Plugin {
  const runtime = runtimeModuleUrls();
  const root = installationRoot();
  const providedFolders = PROVIDED_FOLDERS.map((folder) => resolve(root, folder) + sep);
  return {
    name: 'sluice-runtime-modules',
    setup(bundler) {
      bundler.onResolve({ filter: /^sluice(?:\/.*)?$/ }, (args) => {
        if (runtime.has(args.path)) return { path: args.path, external: true };
        return { errors: [{ text: `"${args.path}" is not a module of the runtime: it provides ${[...runtime.keys()].map((s) => `"${s}"`).join(' and ')}` }] };
      });
      bundler.onResolve({ filter: /^\.\.?(?:\/|$)/ }, async (args) => {
        if (args.pluginData === RESOLVING) return undefined;
        const resolved = await bundler.resolve(args.path, { resolveDir: args.resolveDir, importer: args.importer, kind: args.kind, pluginData: RESOLVING });
        if (resolved.errors.length > 0 || !providedFolders.some((folder) => resolved.path.startsWith(folder))) return undefined;
        const specifier = runtimeSpecifierOfFile(resolved.path) ?? (resolved.path.startsWith(providedFolders[0]!) ? 'sluice' : 'sluice/connectors');
        provided.push({ importer: relative(process.cwd(), args.importer), path: args.path, specifier });
        return { path: specifier, external: true };
      });
    },
  };
}

const RESOLVING = Symbol('resolving a relative import');

/** `import { a, b as c } from "sluice"` and the like, as esbuild prints them at the top of a bundle. */
const RUNTIME_IMPORT = /^(?:import|export)\s*([^;]*?)\s*from\s*"(sluice(?:\/[\w-]+)?)";?$/gm;

function runtimeImportsOf(code: string): Map<string, string[]> {
  const imports = new Map<string, string[]>();
  for (const match of code.matchAll(RUNTIME_IMPORT)) {
    const [, clause, specifier] = match as unknown as [string, string, string];
    const names = imports.get(specifier) ?? [];
    imports.set(specifier, names);
    const named = /\{([^}]*)\}/.exec(clause)?.[1];
    for (const part of (named ?? '').split(',')) {
      const name = part.trim().split(/\s+as\s+/)[0]!;
      if (name !== '' && !names.includes(name)) names.push(name);
    }
    // `import x from "sluice"` (a default import, before any `{` or `* as`).
    if (/^[\w$]+\s*(?:,|$)/.test(clause) && !names.includes('default')) names.push('default');
  }
  return imports;
}

async function checkRuntimeExports(applicationPath: string, runtimeImports: ReadonlyMap<string, readonly string[]>, provided: readonly ProvidedImport[]): Promise<void> {
  const urls = runtimeModuleUrls();
  const problems: string[] = [];
  for (const [specifier, names] of runtimeImports) {
    if (names.length === 0) continue;
    const runtimeModule = (await import(urls.get(specifier)!)) as Record<string, unknown>;
    const missing = names.filter((name) => !(name in runtimeModule));
    if (missing.length === 0) continue;
    const via = provided.filter((p) => p.specifier === specifier).map((p) => `${p.importer} imports ${p.path}`);
    problems.push(
      `"${specifier}" does not export ${missing.map((n) => `"${n}"`).join(', ')}` +
        (via.length > 0 ? ` (the bundle takes "${specifier}" for: ${via.join('; ')}; import from "${specifier}" only what it exports)` : ''),
    );
  }
  if (problems.length > 0) throw new ApplicationBuildError(`${applicationPath} imports what the runtime does not provide:\n${problems.join('\n')}`);
}

/** `file:line:column: text` with a 1-based column, as editors and tsc count. */
function formatMessage(message: Message): string {
  const where = message.location ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: ` : '';
  const notes = message.notes.map((note) => `\n  ${note.location ? `${note.location.file}:${note.location.line}: ` : ''}${note.text}`).join('');
  return `${where}${message.text}${notes}`;
}
