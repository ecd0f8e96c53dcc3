// `sluice init <folder>`: scaffolds an application project that depends on Sluice as a package:
// package.json (an ES module project, the scripts to run, test, type-check and package it),
// tsconfig.json, a pipeline in src/ with the application that runs it, and a test that runs the
// pipeline in embedded mode through `sluice/testing`. It writes files only; `npm install` is the
// user's next step, and an existing file is never overwritten.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { installedPackage } from '../shared/application-code/index.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { parseCommandArgs } from './command-args.ts';

export const INIT_USAGE = `Usage: sluice init <folder> [options]

Creates an application project in <folder> (which must be empty or missing): package.json,
tsconfig.json, src/word-count.ts (a pipeline), src/app.ts (the application that runs it) and
test/word-count.test.ts (the pipeline run in embedded mode). Then:

  cd <folder> && npm install && npm test && npm start

Options:
  --name <name>       the package name (default: the folder's name)
  --sluice <spec>     the dependency on Sluice written to package.json (default: ^<this version>);
                      a path to a tarball from \`npm pack\` works: --sluice ../sluice/sluice-0.1.0.tgz
  -h, --help          this text
`;

export interface InitOptions {
  readonly folder: string;
  readonly name: string;
  readonly sluiceDependency: string;
}

/** npm's rule for a package name: lower case, URL-safe, at most 214 characters. */
const PACKAGE_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

export function parseInitOptions(args: readonly string[]): InitOptions | 'help' {
  const parsed = parseCommandArgs(args, { name: { type: 'string' }, sluice: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, 'init');
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length !== 1) {
    throw new ConfigurationError('folder', parsed.positionals.length === 0 ? 'give the project folder: sluice init my-app' : `expected one folder, got ${parsed.positionals.join(' ')}`);
  }
  const folder = resolve(parsed.positionals[0]!);
  const name = parsed.values.name ?? basename(folder).toLowerCase();
  if (name.length > 214 || !PACKAGE_NAME.test(name)) {
    throw new ConfigurationError('--name', `"${name}" is not a valid npm package name (lower case letters, digits, "-", "." and "_"); give one with --name`);
  }
  const sluiceDependency = parsed.values.sluice ?? `^${installedPackage().version}`;
  if (sluiceDependency.trim() === '') throw new ConfigurationError('--sluice', 'give a dependency spec, for example ^0.1.0 or ../sluice/sluice-0.1.0.tgz');
  return { folder, name, sluiceDependency };
}

/** Writes the project; returns the files written, relative to the folder. */
export function initCommand(options: InitOptions): string[] {
  if (existsSync(options.folder) && readdirSync(options.folder).length > 0) {
    throw new ConfigurationError('folder', `${options.folder} is not empty; sluice init writes a new project into an empty or missing folder`);
  }
  const files = projectFiles(options);
  for (const [path, content] of files) {
    const target = join(options.folder, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content, { flag: 'wx' });
  }
  return [...files.keys()];
}

function projectFiles({ name, sluiceDependency }: InitOptions): Map<string, string> {
  const packageJson = {
    name,
    version: '0.1.0',
    private: true,
    // Sluice applications are ES modules: without this, Node loads src/*.ts as CommonJS.
    type: 'module',
    scripts: {
      start: 'sluice run src/app.ts',
      test: 'node --import tsx --test test/word-count.test.ts',
      typecheck: 'tsc --noEmit',
      package: 'sluice package src/app.ts -o app.zip',
    },
    dependencies: { sluice: sluiceDependency },
    devDependencies: { '@types/node': '^20.19.0', tsx: '^4.20.0', typescript: '~5.9.0' },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      allowImportingTsExtensions: true,
      noEmit: true,
      strict: true,
      skipLibCheck: true,
      types: ['node'],
      lib: ['ES2023'],
    },
    include: ['src', 'test'],
  };
  return new Map([
    ['package.json', `${JSON.stringify(packageJson, null, 2)}\n`],
    ['tsconfig.json', `${JSON.stringify(tsconfig, null, 2)}\n`],
    ['.gitignore', 'node_modules/\n.sluice/\napp.zip\n'],
    ['src/word-count.ts', WORD_COUNT],
    ['src/app.ts', APP],
    ['test/word-count.test.ts', TEST],
    ['README.md', readme(name)],
  ]);
}

const WORD_COUNT = `// The pipeline, kept apart from its sources and sinks so a test can run it on its own input.

import type { DataStream } from 'sluice';

export interface WordCount {
  readonly word: string;
  readonly count: number;
}

/** Splits lines into words and keeps a running count per word: one update per word seen. */
export function countWords(lines: DataStream<string>): DataStream<WordCount> {
  return lines
    .flatMap<WordCount>((line, out) => {
      for (const word of line.toLowerCase().split(/[^\\p{L}\\p{N}']+/u)) if (word !== '') out.collect({ word, count: 1 });
    })
    .keyBy((update) => update.word)
    .reduce((total, update) => ({ word: total.word, count: total.count + update.count }))
    .uid('word-counts');
}
`;

const APP = `// The application: \`npm start\` runs it in embedded mode; \`npm run package\` bundles it for a
// cluster (\`sluice apps create ... \`). Its properties come from --property group.key=value.

import type { Application } from 'sluice';
import { countWords } from './word-count.ts';

const application: Application = (env, properties) => {
  const text = properties.words?.text ?? 'to be or not to be, that is the question';
  countWords(env.fromElements(...text.split(/[.;!?]\\s*/))).print('count');
};

export default application;
`;

const TEST = `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamExecutionEnvironment } from 'sluice';
import { CollectSink, runEmbedded } from 'sluice/testing';
import application from '../src/app.ts';
import { countWords, type WordCount } from '../src/word-count.ts';

test('every word is counted, the last update per word holding its total', async () => {
  const env = new StreamExecutionEnvironment();
  const sink = new CollectSink<WordCount>();
  countWords(env.fromElements('The cat', 'the dog and the cat')).sinkTo(sink);

  const result = await runEmbedded(env);

  assert.equal(result.state, 'finished');
  const totals = new Map(sink.values.map((update) => [update.word, update.count]));
  assert.deepEqual(Object.fromEntries(totals), { the: 3, cat: 2, dog: 1, and: 1 });
  assert.equal(sink.values.length, 7, 'one update per word read');
});

test('the application builds and runs to its end', async () => {
  const env = new StreamExecutionEnvironment();
  await application(env, { words: { text: 'a b a' } });
  const result = await runEmbedded(env);
  assert.equal(result.status.recordsRead, 1);
});
`;

function readme(name: string): string {
  return `# ${name}

A Sluice streaming application.

    npm install
    npm test            # runs the pipeline in embedded mode (test/word-count.test.ts)
    npm start           # sluice run src/app.ts
    npm run typecheck
    npm run package     # app.zip, for a cluster: sluice apps create ... --code s3://bucket/app.zip
`;
}
