#!/usr/bin/env node
// Runs the whole test suite with node's test runner. Node 20's `--test` takes file paths, not
// globs, so this finds every *.test.ts under the source folders and hands them over.
// Tests that need real services carry them in their name (`x.kafka.test.ts`, `x.etcd.s3.test.ts`); they run too, and
// fail with the command that starts the service when it is missing. Before running, this starts
// the services the selected files name with scripts/services.sh (which reuses running ones) and
// passes its `env` lines to the tests; SLUICE_SERVICES=external skips that, for services someone
// else runs (then SLUICE_ETCD_ENDPOINTS etc. say where).
import { readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const sourceFolders = ['shared', 'worker', 'coordinator', 'cli', 'benchmarks', 'examples', 'deploy'];
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
// The container tests build images and run a whole cluster: last, so that they share the machine
// with as few other tests as the concurrency allows, and no timing-sensitive test runs beside
// every minute of them.
const runsContainers = (f) => basename(f).split('.').includes('docker');
files = [...files.filter((f) => !runsContainers(f)), ...files.filter(runsContainers)];
if (files.length === 0) {
  console.error(`no test files matched ${filter.join(' ')}`);
  process.exit(1);
}

/** Starts the services the test files name (`x.etcd.test.ts`); returns the variables that say where they listen. */
function startServices(testFiles) {
  const script = join(root, 'scripts', 'services.sh');
  const list = spawnSync(script, ['list'], { cwd: root, encoding: 'utf8' });
  if (list.status !== 0) {
    console.error(`scripts/services.sh list failed (exit ${list.status}): ${list.stderr ?? list.error}`);
    return {};
  }
  const known = new Set(list.stdout.split('\n').filter(Boolean));
  // `x.etcd.test.ts` names etcd, `x.etcd.s3.test.ts` etcd and s3; `x.test.ts` names nothing.
  const named = testFiles.flatMap((f) => basename(f).split('.').slice(1, -2));
  const needed = [...new Set(named.filter((name) => known.has(name)))].sort();
  if (needed.length === 0) return {};
  console.log(`starting services: ${needed.join(' ')} (scripts/services.sh; SLUICE_SERVICES=external skips this)`);
  const start = spawnSync(script, ['start', ...needed], { cwd: root, stdio: 'inherit' });
  if (start.status !== 0) {
    console.error(`scripts/services.sh start ${needed.join(' ')} failed (exit ${start.status}); the tests that need them will fail`);
  }
  const env = spawnSync(script, ['env', ...needed], { cwd: root, encoding: 'utf8' });
  const variables = {};
  for (const line of (env.stdout ?? '').split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) variables[match[1]] = match[2];
  }
  return variables;
}

const serviceEnv = process.env.SLUICE_SERVICES === 'external' ? {} : startServices(files);
console.log(`running ${files.length} test files`);
const result = spawnSync(
  // A checkout's own name resolves to its TypeScript sources (package.json "exports", condition "sluice-source").
  process.execPath,
  ['--conditions=sluice-source', '--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  {
    cwd: root,
    stdio: 'inherit',
    // Variables the caller set win over the ones the script reports.
    env: { ...serviceEnv, ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' },
  },
);
process.exit(result.status ?? 1);
