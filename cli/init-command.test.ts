import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { installedPackage } from '../shared/application-code/index.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { commonJsProblem } from '../shared/load-application.ts';
import { initCommand, parseInitOptions } from './init-command.ts';

const work = mkdtempSync(join(tmpdir(), 'sluice-init-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('sluice init', () => {
  it('writes an ES module project that depends on this version of Sluice', () => {
    const options = parseInitOptions([join(work, 'Word-Count')]);
    assert.ok(options !== 'help');
    assert.equal(options.name, 'word-count');
    const written = initCommand(options);
    assert.deepEqual(written.sort(), ['.gitignore', 'README.md', 'package.json', 'src/app.ts', 'src/word-count.ts', 'test/word-count.test.ts', 'tsconfig.json']);
    const packageJson = JSON.parse(readFileSync(join(work, 'Word-Count/package.json'), 'utf8'));
    assert.equal(packageJson.type, 'module');
    assert.deepEqual(packageJson.dependencies, { sluice: `^${installedPackage().version}` });
    assert.equal(commonJsProblem(join(work, 'Word-Count/src/app.ts')), undefined);
  });

  it('refuses a folder that is not empty, a bad package name and a missing folder argument, naming the field', () => {
    const used = join(work, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'notes.txt'), 'mine');
    const options = parseInitOptions([used]);
    assert.ok(options !== 'help');
    assert.throws(() => initCommand(options), (error: unknown) => error instanceof ConfigurationError && /used is not empty/.test(error.message));
    assert.equal(readFileSync(join(used, 'notes.txt'), 'utf8'), 'mine');
    assert.throws(() => parseInitOptions([join(work, 'x'), '--name', 'Bad Name']), /--name: "Bad Name" is not a valid npm package name/);
    assert.throws(() => parseInitOptions([]), /folder: give the project folder/);
    assert.throws(() => parseInitOptions([join(work, 'y'), '--sluice', ' ']), /--sluice: give a dependency spec/);
  });
});

describe('an application module that would load as CommonJS', () => {
  it('is told to add "type": "module" or rename the file, and .mts, .mjs or a module package pass', () => {
    const project = join(work, 'cjs');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{"name":"cjs"}');
    assert.match(commonJsProblem(join(project, 'app.ts'))!, /package\.json has no "type".*Add "type": "module" to .*cjs\/package\.json, or rename the file to app\.mts$/);
    assert.match(commonJsProblem(join(project, 'app.js'))!, /rename the file to app\.mjs$/);
    writeFileSync(join(project, 'package.json'), '{"type":"commonjs"}');
    assert.match(commonJsProblem(join(project, 'app.ts'))!, /has "type": "commonjs"/);
    writeFileSync(join(project, 'package.json'), '{"type":');
    assert.match(commonJsProblem(join(project, 'app.ts'))!, /is not valid JSON/);
    assert.equal(commonJsProblem(join(project, 'app.mts')), undefined);
    assert.equal(commonJsProblem(join(project, 'app.mjs')), undefined);
    writeFileSync(join(project, 'package.json'), '{"type":"module"}');
    assert.equal(commonJsProblem(join(project, 'app.ts')), undefined);
    assert.match(commonJsProblem(join(work, 'loose/app.ts'))!, /no package\.json above it says "type": "module"/);
  });
});
