// Sluice as an application project meets it: packed with `npm pack` (which builds dist/), the
// tarball installed into a fresh project that `sluice init` scaffolded, whose test, type check
// and `sluice run` then work with nothing from this checkout but the tarball. The installed
// package runs JavaScript (no TypeScript sources ship), its types are real (a type error in the
// project is reported), and a project without "type": "module" gets a message that says what to
// change. npm installs from its cache where it can (`--prefer-offline`).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'sluice-installed-package-'));
const project = join(work, 'my-app');
after(() => rmSync(work, { recursive: true, force: true }));

interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** This test's environment, less what would make the project's own `node --test` report to this runner. */
const { NODE_TEST_CONTEXT: _, ...environment } = process.env;

function run(command: string, args: readonly string[], cwd: string): Result {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...environment, npm_config_update_notifier: 'false' } });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function succeeds(command: string, args: readonly string[], cwd: string): Result {
  const result = run(command, args, cwd);
  assert.equal(result.status, 0, `${command} ${args.join(' ')} in ${cwd} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe('the installed package', () => {
  let tarball = '';
  let files: string[] = [];

  before(() => {
    const packed = succeeds('npm', ['pack', '--json', '--pack-destination', work], root);
    const [description] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, description!.filename);
    files = description!.files.map((file) => file.path);
  });

  it('ships JavaScript with type declarations, the proto and the bin, and no sources or tests', () => {
    for (const expected of ['bin/sluice.mjs', 'dist/shared/api/index.js', 'dist/shared/api/index.d.ts', 'dist/worker/connectors/index.js', 'dist/worker/testing/index.d.ts', 'dist/cli/main.js', 'dist/proto/sluice.proto', 'dist/shared/application-code/runtime-module-resolution-hook.mjs']) {
      assert.ok(files.includes(expected), `${expected} is missing from the tarball`);
    }
    const sources = files.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'));
    assert.deepEqual(sources, [], 'TypeScript sources in the tarball');
    const tests = files.filter((path) => /\.test\.|\/testing\/.*-app\./.test(path));
    assert.deepEqual(tests, [], 'tests in the tarball');
    const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { private?: boolean };
    assert.notEqual(packageJson.private, true, 'a private package cannot be published');
  });

  it('sluice init scaffolds a project that installs the tarball, passes its test and type check, and runs', () => {
    succeeds(process.execPath, [join(root, 'bin/sluice.mjs'), 'init', project, '--sluice', tarball], work);
    succeeds('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project);

    const installed = join(project, 'node_modules/sluice');
    assert.equal(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).name, 'sluice');

    const tested = succeeds('npm', ['test'], project);
    assert.match(tested.stdout, /# pass 2\b/);
    assert.match(tested.stdout, /# fail 0\b/);

    succeeds('npm', ['run', 'typecheck'], project);
    // The declarations carry the real types: a wrong one is an error, not an any.
    writeFileSync(join(project, 'src/wrong.ts'), "import { StreamExecutionEnvironment } from 'sluice';\nexport const n: number = new StreamExecutionEnvironment().fromElements('a');\n");
    const wrong = run('npm', ['run', 'typecheck'], project);
    assert.notEqual(wrong.status, 0, 'a type error in the project passed the type check');
    assert.match(wrong.stdout, /src\/wrong\.ts.*TS2322.*SingleOutputStreamOperator<string>/);
    rmSync(join(project, 'src/wrong.ts'));

    const started = succeeds('npx', ['sluice', 'run', 'src/app.ts', '--property', 'words.text=to be or not to be'], project);
    assert.match(started.stdout, /count> \{"word":"be","count":2\}/);
    assert.match(started.stdout, /count> \{"word":"to","count":2\}/);
  });

  it('a project without "type": "module" is told what to change', () => {
    const packageJsonPath = join(project, 'package.json');
    const packageJson = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as Record<string, unknown>;
    delete packageJson.type;
    writeFileSync(packageJsonPath, JSON.stringify(packageJson, null, 2));
    const refused = run('npx', ['sluice', 'run', 'src/app.ts'], project);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /would load as CommonJS: .*package\.json has no "type".*Add "type": "module" to .*package\.json, or rename the file to app\.mts/);
  });
});
