import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ApplicationBuildError, bundleApplication } from './application-bundler.ts';
import { installationRoot } from '../shared/application-code/index.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { loadApplication } from '../shared/load-application.ts';

const folders: string[] = [];
async function tempFolder(): Promise<string> {
  const folder = await fs.mkdtemp(join(tmpdir(), 'sluice-bundler-test-'));
  folders.push(folder);
  return folder;
}
after(async () => {
  for (const folder of folders) await fs.rm(folder, { recursive: true, force: true });
});

const text = (code: Uint8Array) => new TextDecoder().decode(code);

/** Writes `files` (path → content) under a new temp folder; answers the folder. */
async function writeFiles(files: Record<string, string>): Promise<string> {
  const folder = await tempFolder();
  for (const [path, content] of Object.entries(files)) {
    await fs.mkdir(join(folder, path, '..'), { recursive: true });
    await fs.writeFile(join(folder, path), content);
  }
  return folder;
}

describe('application bundler', () => {
  test("an example's 'sluice' imports stay imports of the runtime; its own code is in the bundle", async () => {
    const bundle = await bundleApplication('examples/hot-items.ts');
    const code = text(bundle.code);
    assert.deepEqual(Object.fromEntries(bundle.runtimeImports), {
      sluice: ['SlidingEventTimeWindows', 'WatermarkStrategy'],
      'sluice/connectors': ['JsonLinesFileSink', 'NexmarkSource'],
    });
    assert.match(code, /^import \{ SlidingEventTimeWindows, WatermarkStrategy \} from "sluice";$/m);
    assert.match(code, /^import \{ JsonLinesFileSink, NexmarkSource \} from "sluice\/connectors";$/m);
    assert.match(code, /hotItems\.minBids/, "the application's code");
    assert.doesNotMatch(code, /class (StreamExecutionEnvironment|NexmarkSource|JsonLinesFileSink)\b/, 'the runtime was bundled');
    assert.deepEqual(bundle.inputs, ['examples/hot-items.ts']);
  });

  test("relative imports of the runtime's shared/ and worker/ files become 'sluice' and 'sluice/connectors'", async () => {
    const bundle = await bundleApplication('cli/testing/relative-imports-app.ts');
    const code = text(bundle.code);
    assert.deepEqual(Object.fromEntries(bundle.runtimeImports), { sluice: ['CollectionSource', 'WatermarkStrategy'], 'sluice/connectors': ['JsonLinesFileSink'] });
    assert.doesNotMatch(code, /\.\.\/(shared|worker)\//);
    assert.deepEqual(bundle.inputs, ['cli/testing/relative-imports-app.ts']);
  });

  test('dependencies are bundled, CommonJS ones included, and the bundle loads from outside the repository', async () => {
    const source = await writeFiles({
      'node_modules/left-pad-cjs/package.json': JSON.stringify({ name: 'left-pad-cjs', main: 'index.js' }),
      'node_modules/left-pad-cjs/index.js': "const { join } = require('node:path');\nmodule.exports = (s, n) => join(String(s).padStart(n, '*'));\n",
      'app.ts': [
        "import { WatermarkStrategy, type Application } from 'sluice';",
        "import leftPad from 'left-pad-cjs';",
        "export const padded: string = leftPad('ab', 5);",
        'const app: Application = (env) => { env.fromCollection([1], WatermarkStrategy.noWatermarks<number>()); };',
        'export default app;',
      ].join('\n'),
    });
    const bundle = await bundleApplication(join(source, 'app.ts'));
    assert.match(text(bundle.code), /padStart/, 'the dependency is inside the bundle');
    assert.ok(bundle.inputs.some((input) => input.endsWith('node_modules/left-pad-cjs/index.js')), bundle.inputs.join());

    const target = await tempFolder();
    await fs.writeFile(join(target, 'app.mjs'), bundle.code);
    const application = await loadApplication(join(target, 'app.mjs'));
    assert.equal(typeof application, 'function');
    assert.equal(((await import(join(target, 'app.mjs'))) as { padded: string }).padded, '***ab');
  });

  test('a build error gives esbuild\'s message with file:line:column', async () => {
    const folder = await writeFiles({ 'broken.ts': 'export default (env) => {\n  env.fromCollection([1, 2);\n};\n' });
    await assert.rejects(bundleApplication(join(folder, 'broken.ts')), (error: unknown) => {
      assert.ok(error instanceof ApplicationBuildError, String(error));
      assert.match(error.message, /broken\.ts does not build:\n.*broken\.ts:2:\d+: Expected "\]" but found "\)"/);
      return true;
    });
  });

  test('an import that does not resolve names the importing file and line', async () => {
    const folder = await writeFiles({ 'app.ts': "import { x } from './missing.ts';\nexport default () => x;\n" });
    await assert.rejects(bundleApplication(join(folder, 'app.ts')), /app\.ts:1:\d+: Could not resolve "\.\/missing\.ts"/);
  });

  test('a module the runtime does not provide', async () => {
    const folder = await writeFiles({ 'app.ts': "import { KafkaSource } from 'sluice/kafka';\nexport default () => KafkaSource;\n" });
    await assert.rejects(bundleApplication(join(folder, 'app.ts')), /app\.ts:1:\d+: "sluice\/kafka" is not a module of the runtime: it provides "sluice" and "sluice\/connectors"/);
  });

  test('a name the runtime does not export, through a deep relative import, fails at packaging', async () => {
    const folder = await tempFolder();
    const keyGroups = relative(folder, join(installationRoot(), 'shared/key-groups.ts'));
    await fs.writeFile(join(folder, 'app.ts'), `import { murmurHash } from '${keyGroups}';\nexport default () => murmurHash(1);\n`);
    await assert.rejects(bundleApplication(join(folder, 'app.ts')), (error: unknown) => {
      assert.ok(error instanceof ApplicationBuildError);
      assert.match(error.message, /imports what the runtime does not provide:\n"sluice" does not export "murmurHash" \(the bundle takes "sluice" for: .*app\.ts imports .*shared\/key-groups\.ts;/);
      return true;
    });
  });

  test('a missing application file is a configuration error naming it', async () => {
    await assert.rejects(bundleApplication('examples/no-such-app.ts'), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.message, 'application: examples/no-such-app.ts: no such file');
      return true;
    });
  });
});
