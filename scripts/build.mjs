#!/usr/bin/env node
// Builds the package's JavaScript and type declarations into dist/ (tsconfig.build.json), with
// the files the code reads at run time beside it: proto/ and the plain .mjs modules (the module
// resolution hook). `npm pack` runs it first (the "prepack" script); a checkout runs its
// TypeScript as it is and needs no build.
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const codeFolders = ['shared', 'worker', 'coordinator', 'cli'];

function plainModules(dir, found = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) plainModules(path, found);
    else if (name.endsWith('.mjs')) found.push(relative(root, path));
  }
  return found;
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
console.log('build: compiling TypeScript to dist/ (tsc -p tsconfig.build.json)');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) {
  console.error(`build: tsc failed (exit ${compiled.status ?? compiled.signal})`);
  process.exit(1);
}
cpSync(join(root, 'proto'), join(dist, 'proto'), { recursive: true });
const modules = codeFolders.flatMap((folder) => plainModules(join(root, folder)));
for (const module of modules) cpSync(join(root, module), join(dist, module));
console.log(`build: dist/ ready in ${((Date.now() - started) / 1000).toFixed(1)} s (proto/ and ${modules.length} .mjs module(s) copied)`);
