// `sluice package` into a local archive, then that archive fetched into a cache folder outside the
// repository and run embedded: the path a developer takes before uploading to S3.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { unzipSync } from 'fflate';
import { packageCommand } from './package-command.ts';
import { committedLines, runEmbedded } from './testing/embedded-run.ts';
import { ApplicationCodeFetcher, installationRoot, sha256Hex } from '../shared/application-code/index.ts';

const folders: string[] = [];
async function tempFolder(): Promise<string> {
  const folder = await fs.mkdtemp(join(tmpdir(), 'sluice-package-test-'));
  folders.push(folder);
  return folder;
}
after(async () => {
  for (const folder of folders) await fs.rm(folder, { recursive: true, force: true });
});

/** Output streams that keep what was written. */
function capture(): { out: PassThrough; err: PassThrough; text: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  err.resume();
  return { out, err, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('sluice package', () => {
  test('writes an archive with the bundle and its manifest, and prints its size and SHA-256', async () => {
    const folder = await tempFolder();
    const output = capture();
    const result = await packageCommand({ application: 'examples/hot-items.ts', output: join(folder, 'hot-items.zip'), upload: undefined, s3Endpoint: undefined, s3Region: undefined }, output);

    const bytes = await fs.readFile(result.archivePath);
    assert.equal(result.archiveBytes, bytes.length);
    assert.equal(result.archiveSha256, sha256Hex(bytes));
    const files = unzipSync(bytes);
    assert.deepEqual(Object.keys(files).sort(), ['app.mjs', 'sluice-manifest.json']);
    const manifest = JSON.parse(new TextDecoder().decode(files['sluice-manifest.json']));
    assert.deepEqual(Object.keys(manifest).sort(), ['createdAt', 'entry', 'formatVersion', 'runtime', 'sha256', 'source']);
    assert.equal(manifest.entry, 'app.mjs');
    assert.equal(manifest.runtime, 'SLUICE-1');
    assert.equal(manifest.source, 'hot-items.ts');
    assert.equal(manifest.sha256, sha256Hex(files['app.mjs']!));

    const printed = output.text();
    assert.ok(printed.includes(`archive  ${(bytes.length / 1024).toFixed(1)} KiB (${bytes.length} bytes), sha256 ${result.archiveSha256}`), printed);
    assert.ok(printed.includes(`sha256 ${manifest.sha256}`), printed);
  });

  test('a packaged application runs from the cache folder outside the repository, as it does from source', async () => {
    const work = await tempFolder();
    const result = await packageCommand(
      { application: 'cli/testing/relative-imports-app.ts', output: join(work, 'app.zip'), upload: undefined, s3Endpoint: undefined, s3Region: undefined },
      capture(),
    );
    const fetcher = new ApplicationCodeFetcher({ cacheDirectory: join(work, 'code-cache') });
    const code = await fetcher.fetch({ path: result.archivePath }, { expectedArchiveSha256: result.archiveSha256 });
    assert.ok(!code.entryPath.startsWith(installationRoot()), code.entryPath);

    const output = join(work, 'output');
    assert.equal(await runEmbedded(code.entryPath, ['test.count=250', `test.output=${output}`], join(work, 'run')), 0);
    const lines = (await committedLines(output)).map((line) => JSON.parse(line) as { n: number; doubled: number });
    assert.equal(lines.length, 250);
    assert.deepEqual(lines.map((l) => l.doubled).sort((a, b) => a - b), Array.from({ length: 250 }, (_, i) => i * 2));
  });
});
