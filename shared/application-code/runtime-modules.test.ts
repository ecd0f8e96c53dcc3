import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installationRoot, runtimeModuleUrls, runtimeSpecifierOfFile } from './runtime-modules.ts';
import { StreamExecutionEnvironment, WatermarkStrategy } from '../api/index.ts';
import { loadApplication } from '../load-application.ts';

const folders: string[] = [];
after(async () => {
  for (const folder of folders) await fs.rm(folder, { recursive: true, force: true });
});

describe('runtime modules', () => {
  test('the runtime provides the package.json exports, by the package name', () => {
    const root = installationRoot();
    const urls = runtimeModuleUrls();
    assert.deepEqual([...urls.keys()].sort(), ['sluice', 'sluice/connectors', 'sluice/testing']);
    assert.equal(fileURLToPath(urls.get('sluice')!), join(root, 'shared/api/index.ts'));
    assert.equal(fileURLToPath(urls.get('sluice/connectors')!), join(root, 'worker/connectors/index.ts'));
    assert.equal(runtimeSpecifierOfFile(join(root, 'worker/connectors/index.ts')), 'sluice/connectors');
    assert.equal(runtimeSpecifierOfFile(join(root, 'worker/connectors/files/index.ts')), undefined);
  });

  test("a module outside the installation imports 'sluice' and gets this runtime's own modules", async () => {
    const folder = await fs.mkdtemp(join(tmpdir(), 'sluice-runtime-modules-test-'));
    folders.push(folder);
    const path = join(folder, 'app.mjs');
    await fs.writeFile(
      path,
      [
        "import { StreamExecutionEnvironment, WatermarkStrategy } from 'sluice';",
        "import * as connectors from 'sluice/connectors';",
        'export const seen = { StreamExecutionEnvironment, WatermarkStrategy, connectors };',
        'export default (env) => { env.fromCollection([1, 2, 3]); };',
        '',
      ].join('\n'),
    );
    const application = await loadApplication(path);
    const env = new StreamExecutionEnvironment();
    await application(env, {});

    const loaded = (await import(path)) as { seen: { StreamExecutionEnvironment: unknown; WatermarkStrategy: unknown; connectors: unknown } };
    assert.equal(loaded.seen.StreamExecutionEnvironment, StreamExecutionEnvironment, "'sluice' is a second copy of the API");
    assert.equal(loaded.seen.WatermarkStrategy, WatermarkStrategy);
    assert.equal(loaded.seen.connectors, await import(runtimeModuleUrls().get('sluice/connectors')!), "'sluice/connectors' is not the runtime's");
  });
});
