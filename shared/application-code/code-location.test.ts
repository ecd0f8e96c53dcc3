import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { codeLocationUrl, describeCodeLocation, isS3CodeLocation, parseCodeLocationUrl, parseS3ObjectUrl } from './code-location.ts';
import { ConfigurationError } from '../errors.ts';

describe('code locations', () => {
  test('an S3 object URL gives its bucket and key', () => {
    assert.deepEqual(parseS3ObjectUrl('s3://my-bucket/apps/hot-items/v1.zip', '--upload'), { bucket: 'my-bucket', key: 'apps/hot-items/v1.zip' });
  });

  test('a URL that does not name one object is refused, naming the field', () => {
    const cases: [string, RegExp][] = [
      ['my-bucket/app.zip', /is not an S3 object URL/],
      ['s3:/my-bucket/app.zip', /is not an S3 object URL/],
      ['s3://my-bucket', /is not an S3 object URL/],
      ['s3://my-bucket/', /is not an object key/],
      ['s3://my-bucket/apps/', /is not an object key/],
      ['s3://My_Bucket/app.zip', /"My_Bucket" is not an S3 bucket name/],
      ['s3://my-bucket/a/../app.zip', /has an empty, "\." or "\.\." segment/],
      ['s3://my-bucket/a//app.zip', /has an empty, "\." or "\.\." segment/],
    ];
    for (const [url, pattern] of cases) {
      assert.throws(() => parseS3ObjectUrl(url, '--upload'), (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.equal(error.field, '--upload');
        assert.match(error.message, pattern);
        return true;
      }, url);
    }
  });

  test('descriptions name the version when there is one', () => {
    assert.equal(describeCodeLocation({ bucket: 'b-1', key: 'a.zip' }), 's3://b-1/a.zip');
    assert.equal(describeCodeLocation({ bucket: 'b-1', key: 'a.zip', objectVersion: 'v7' }), 's3://b-1/a.zip (version v7)');
    assert.equal(describeCodeLocation({ path: './app.zip' }), './app.zip');
    assert.equal(isS3CodeLocation({ path: 'x.zip' }), false);
    assert.equal(isS3CodeLocation({ bucket: 'b-1', key: 'a.zip' }), true);
  });

  test('the one-string form a job carries reads back as the same location, an exact version included', () => {
    const locations = [{ bucket: 'apps', key: 'hot-items/v1.zip' }, { bucket: 'apps', key: 'hot-items/v1.zip', objectVersion: 'a+b/c=' }, { path: '/srv/app.zip' }];
    for (const location of locations) assert.deepEqual(parseCodeLocationUrl(codeLocationUrl(location), 'application'), location);
    assert.equal(codeLocationUrl(locations[1]!), 's3://apps/hot-items/v1.zip?versionId=a%2Bb%2Fc%3D');
    assert.throws(() => parseCodeLocationUrl('s3://apps/app.zip?version=3', 'application'), /application.*unknown parameter "version"/);
    assert.throws(() => parseCodeLocationUrl('s3://apps/app.zip?versionId=', 'application'), /versionId is empty/);
  });
});
