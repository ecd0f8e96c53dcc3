#!/usr/bin/env node
// Import boundaries (ARCHITECTURE.md, "Layout"): coordinator/ and worker/ meet only in proto/ and
// shared/, so neither imports the other, and shared/ imports from neither. Scans every .ts file
// under the three folders, tests included, and prints each import that crosses as
// `file:line imports path`; exits 1 if there is one. The crossings allowed for now are listed in
// ALLOWED, each with its reason; an allowed crossing that no longer happens fails the check too,
// so the list only shrinks.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const checkedFolders = ['worker', 'coordinator', 'shared'];
/** Folder → the folders its files may not import from. */
const forbidden = { worker: ['coordinator'], coordinator: ['worker'], shared: ['worker', 'coordinator'] };

/**
 * The crossings allowed for now: no production code; tests and the test
 * applications they submit, which put both sides together to run a job end to end.
 */
const ALLOWED = [
  {
    file: 'shared/checkpoint/checkpoint-storage.etcd.s3.test.ts',
    imports: [
      'worker/runtime/dead-letter.ts',
      'worker/runtime/embedded-executor.ts',
      'worker/testing/gated-source.ts',
      'coordinator/ha/etcd-high-availability-services.ts',
    ],
    reason: 'checkpoints a running job to S3 with its pointer in etcd: the runtime and the HA services together',
  },
  {
    file: 'shared/plan/job-plan.test.ts',
    imports: ['worker/connectors/collect-sink.ts', 'worker/testing/embedded-harness.ts'],
    reason: 'plans jobs built with a connector, and runs one to show what a plan does',
  },
  {
    file: 'shared/plan/live-rescale-plan.test.ts',
    imports: ['worker/connectors/index.ts', 'worker/connectors/collect-sink.ts'],
    reason: 'plans rescales of jobs built with connectors',
  },
  {
    file: 'coordinator/cluster/exactly-once.etcd.kafka.s3.test.ts',
    imports: ['worker/connectors/kafka/testing-topic-reader.ts'],
    reason: "reads the cluster's Kafka output with the Kafka source's reader",
  },
  {
    file: 'coordinator/applications/testing/keyed-count-s3-app.ts',
    imports: ['worker/connectors/index.ts'],
    reason: "an application the applications test packages and runs: it imports the connectors as users do ('sluice/connectors')",
  },
  ...['cep-bid-pairs-app.ts', 'kafka-window-app.ts', 'keyed-count-app.ts', 'postgres-count-app.ts', 'slow-sink-app.ts', 'window-count-app.ts'].map((app) => ({
    file: `coordinator/cluster/testing/${app}`,
    imports: ['worker/connectors/index.ts'],
    reason: "an application the cluster tests submit: it imports the connectors as users do ('sluice/connectors')",
  })),
];

const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Repository path of what `specifier` in `file` loads, or undefined for another package. */
function resolve(file, specifier) {
  if (specifier.startsWith('.')) return posix.normalize(posix.join(posix.dirname(file), specifier));
  // The package importing itself by name (`sluice/connectors`): its "exports" say which file.
  if (specifier === packageJson.name || specifier.startsWith(`${packageJson.name}/`)) {
    const target = packageJson.exports?.[`.${specifier.slice(packageJson.name.length)}`];
    // A checkout's files are the "sluice-source" targets (the others are the built dist/).
    const file = typeof target === 'string' ? target : target?.['sluice-source'];
    return typeof file === 'string' ? posix.normalize(file) : specifier;
  }
  return undefined;
}

const IMPORT_PATTERNS = [
  /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1/gm, // import … from '…', export … from '…'
  /^[ \t]*import\s*(['"])([^'"]+)\1/gm, // import '…'
  /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g, // import('…')
];

/** Every import of a source text: the specifier and the line it is on. */
function importsOf(text) {
  const found = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      const at = match.index + match[0].lastIndexOf(match[2]);
      found.push({ specifier: match[2], line: text.slice(0, at).split('\n').length });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

function tsFiles(dir, found = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) tsFiles(path, found);
    else if (name.endsWith('.ts')) found.push(relative(root, path).split(sep).join('/'));
  }
  return found;
}

const violations = [];
/** "file → imported path" of the allowed crossings seen. */
const used = new Set();
let checked = 0;
for (const folder of checkedFolders) {
  for (const file of tsFiles(join(root, folder)).sort()) {
    checked++;
    for (const { specifier, line } of importsOf(readFileSync(join(root, file), 'utf8'))) {
      const target = resolve(file, specifier);
      if (target === undefined || !forbidden[folder].includes(target.split('/')[0])) continue;
      if (ALLOWED.some((a) => a.file === file && a.imports.includes(target))) used.add(`${file} → ${target}`);
      else violations.push(`${file}:${line} imports ${target}`);
    }
  }
}

for (const violation of violations) console.log(violation);
const stale = ALLOWED.flatMap((a) => a.imports.map((target) => `${a.file} → ${target}`)).filter((crossing) => !used.has(crossing));
for (const crossing of stale) console.log(`allowed but no longer there: ${crossing}; remove it from ALLOWED in scripts/check-imports.mjs`);
if (violations.length > 0 || stale.length > 0) {
  if (violations.length > 0) {
    console.log(
      `${violations.length} imports cross between worker/, coordinator/ and shared/ (ARCHITECTURE.md, "Layout"): ` +
        'move what both sides need into shared/ (the checkpoint format into shared/checkpoint/, the plan into shared/plan/)',
    );
  }
  process.exit(1);
}
console.log(`import boundaries hold in ${checked} files under ${checkedFolders.join('/, ')}/; ${used.size} allowed crossings:`);
for (const a of ALLOWED) console.log(`  ${a.file} (${a.imports.length}): ${a.reason}`);
