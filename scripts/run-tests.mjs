#!/usr/bin/env node
// Runs the whole test suite with node's test runner. Node 20's `--test` takes file paths, not
// globs, so this finds every *.test.ts under the source folders and hands them over.
// Tests that need a real service carry it in their name (`x.kafka.test.ts`); they run too, and
// fail with the command that starts the service when it is missing.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const sourceFolders = ['shared', 'worker', 'coordinator', 'cli', 'benchmarks', 'examples'];
const filter = process.argv.slice(2);

function findTests(dir, found) {
  let entries;
  try { entries = readdirSync(dir); } catch { return found; }
  for (const name of entries) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, found);
    else if (name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

let files = sourceFolders.flatMap((folder) => findTests(join(root, folder), [])).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((pattern) => f.includes(pattern)));
if (files.length === 0) {
  console.error(`no test files matched ${filter.join(' ')}`);
  process.exit(1);
}
console.log(`running ${files.length} test files`);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' } },
);
process.exit(result.status ?? 1);
