import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePackageOptions } from './package-options.ts';
import { ConfigurationError } from '../shared/errors.ts';

function refused(args: string[], field: string, pattern: RegExp): void {
  assert.throws(() => parsePackageOptions(args), (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, String(error));
    assert.equal(error.field, field);
    assert.match(error.message, pattern);
    return true;
  }, args.join(' '));
}

describe('sluice package options', () => {
  test('defaults: the archive is <app>.zip in the current folder, no upload', () => {
    assert.deepEqual(parsePackageOptions(['examples/hot-items.ts']), {
      application: 'examples/hot-items.ts',
      output: 'hot-items.zip',
      upload: undefined,
      s3Endpoint: undefined,
      s3Region: undefined,
    });
  });

  test('every flag', () => {
    assert.deepEqual(
      parsePackageOptions(['app.ts', '-o', 'dist/app.zip', '--upload', 's3://apps-bucket/hot/app.zip', '--s3-endpoint', 'http://127.0.0.1:19000', '--s3-region', 'eu-west-1']),
      { application: 'app.ts', output: 'dist/app.zip', upload: { bucket: 'apps-bucket', key: 'hot/app.zip' }, s3Endpoint: 'http://127.0.0.1:19000', s3Region: 'eu-west-1' },
    );
    assert.equal(parsePackageOptions(['--help']), 'help');
    assert.equal(parsePackageOptions(['app.ts', '-h']), 'help');
  });

  test('bad arguments name their flag', () => {
    refused([], 'application', /give the application file/);
    refused(['a.ts', 'b.ts'], 'application', /expected one application file, got a\.ts b\.ts/);
    refused(['app.ts', '--upload', 's3:/bucket/app.zip'], '--upload', /"s3:\/bucket\/app\.zip" is not an S3 object URL \(s3:\/\/bucket\/key\)/);
    refused(['app.ts', '--upload', 's3://bucket'], '--upload', /is not an S3 object URL/);
    refused(['app.ts', '--upload', 's3://bucket/apps/'], '--upload', /is not an object key/);
    refused(['app.ts', '-o', 'app.tar'], '--output', /must end with \.zip/);
    refused(['app.ts', '--s3-endpoint', 'localhost:9000'], '--s3-endpoint', /is not an http:\/\/ or https:\/\/ URL/);
    refused(['app.ts', '--bucket', 'x'], '--bucket', /Unknown option '--bucket'; see sluice package --help/);
  });
});
