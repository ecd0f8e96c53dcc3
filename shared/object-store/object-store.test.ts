// The ObjectStore contract on the in-process stores (memory, local directory), plus what is
// particular to each: URL parsing, the local directory's files and crash states, fault injection.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeObjectStoreContract } from './object-store.contract.ts';
import {
  createObjectStore,
  FaultInjectingObjectStore,
  InjectedObjectStoreFault,
  LocalDirectoryObjectStore,
  MemoryObjectStore,
  S3ObjectStore,
} from './index.ts';
import { ConfigurationError, ExternalSystemError } from '../errors.ts';
import { PrefixedObjectStore } from './prefixed-object-store.ts';

const scratch = mkdtempSync(join(tmpdir(), 'sluice-object-store-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const freshFolder = () => join(scratch, `store-${++folders}`);
const text = (value: string) => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describeObjectStoreContract('memory', async () => new MemoryObjectStore());
describeObjectStoreContract('local directory', async () => new LocalDirectoryObjectStore({ directory: freshFolder() }), {
  timeoutMs: 60_000,
});
// A view under a prefix, over a store that also holds other keys the view must never show.
describeObjectStoreContract('prefixed view', async () => {
  const inner = new MemoryObjectStore();
  await inner.put('outside/x', text('not in the view'));
  await inner.put('jobs/other/y', text('not in the view either'));
  return new PrefixedObjectStore(inner, 'jobs/one');
});

describe('createObjectStore', () => {
  test('opens each kind of store from its URL', async () => {
    const s3 = createObjectStore('s3://my-bucket/checkpoints/job-1/', { env: {} });
    assert.ok(s3 instanceof S3ObjectStore);
    assert.equal(s3.location, 's3://my-bucket/checkpoints/job-1');
    await s3.close();
    assert.equal(createObjectStore('s3://my-bucket', { env: {} }).location, 's3://my-bucket');
    const local = createObjectStore('file:///var/tmp/sluice-checkpoints');
    assert.ok(local instanceof LocalDirectoryObjectStore);
    assert.equal(local.directory, '/var/tmp/sluice-checkpoints');
    const relative = createObjectStore('some/dir');
    assert.ok(relative instanceof LocalDirectoryObjectStore);
    assert.equal(relative.directory, join(process.cwd(), 'some/dir'));
    assert.ok(createObjectStore('memory://unit') instanceof MemoryObjectStore);
  });

  test('stores opened on one memory:// name share their objects', async () => {
    const writer = createObjectStore('memory://shared-name-test');
    const reader = createObjectStore('memory://shared-name-test');
    await writer.put('k', text('v'));
    assert.equal(decode(await reader.get('k')), 'v');
    assert.equal(await createObjectStore('memory://another-name').head('k'), undefined);
  });

  test('a bad URL is a ConfigurationError naming the setting', () => {
    const cases: [string, RegExp][] = [
      ['', /required/],
      ['s3://', /not an S3 bucket name/],
      ['s3://Upper_Case/x', /not an S3 bucket name/],
      ['s3://bucket/a/../b', /segment/],
      ['ftp://host/dir', /unknown scheme "ftp:"/],
      ['file://remote-host/dir', /file URL/],
      ['memory://', /needs a name/],
    ];
    for (const [url, message] of cases) {
      assert.throws(() => createObjectStore(url, { field: 'checkpoints.location', env: {} }), (error: unknown) => {
        assert.ok(error instanceof ConfigurationError, `${url}: got ${String(error)}`);
        assert.equal(error.field, 'checkpoints.location');
        assert.match(error.message, message);
        return true;
      });
    }
  });

  test('an S3 endpoint from the environment that is not a URL names the variable', () => {
    assert.throws(
      () => createObjectStore('s3://bucket', { env: { AWS_ENDPOINT_URL_S3: 'localhost:9000' } }),
      (error: unknown) => error instanceof ConfigurationError && error.field === 'AWS_ENDPOINT_URL_S3',
    );
    assert.throws(
      () => createObjectStore('s3://bucket', { env: {}, s3: { maxAttempts: 0 } }),
      (error: unknown) => error instanceof ConfigurationError && error.field === 'maxAttempts',
    );
  });
});

describe('LocalDirectoryObjectStore', () => {
  test('keys are files under the folder; temp files and uploads are never listed', async () => {
    const directory = freshFolder();
    const store = new LocalDirectoryObjectStore({ directory });
    await store.put('a/b/c.json', text('{}'));
    assert.equal(await fs.readFile(join(directory, 'a', 'b', 'c.json'), 'utf8'), '{}');
    await store.createMultipartUpload('a/b/pending');
    await fs.writeFile(join(directory, '.tmp', 'put-left-by-a-crash'), 'partial');
    assert.deepEqual(await store.list(''), [{ key: 'a/b/c.json', size: 2 }]);
    assert.deepEqual(await store.list('.tmp/'), []);
    await assert.rejects(store.put('.uploads/x', text('x')), /reserved/);
  });

  test('delete removes the folders it leaves empty, so a key may later name one', async () => {
    const directory = freshFolder();
    const store = new LocalDirectoryObjectStore({ directory });
    await store.put('p/q/r', text('1'));
    await store.delete(['p/q/r']);
    assert.deepEqual(await fs.readdir(directory).then((names) => names.filter((n) => !n.startsWith('.'))), []);
    await store.put('p', text('now a file'));
    assert.equal(decode(await store.get('p')), 'now a file');
  });

  test('a key and keys under it as a folder cannot coexist: the put fails naming the key', async () => {
    const store = new LocalDirectoryObjectStore({ directory: freshFolder() });
    await store.put('x/y', text('1'));
    await assert.rejects(store.put('x', text('2')), (error: unknown) => error instanceof ExternalSystemError && /"x"/.test(error.message));
    await assert.rejects(store.put('x/y/z', text('3')), (error: unknown) => error instanceof ExternalSystemError && /"x\/y\/z"/.test(error.message));
    assert.equal(decode(await store.get('x/y')), '1');
  });

  test('a complete that crashed after renaming the object is finished by the replay, without writing again', async () => {
    const directory = freshFolder();
    const store = new LocalDirectoryObjectStore({ directory });
    const upload = await store.createMultipartUpload('crash/object');
    const part = await store.uploadPart(upload, 1, text('assembled once'));
    await store.completeMultipartUpload(upload, [part]);
    // The state a crash between the rename and the folder's removal leaves: key file and marker.
    const folder = join(directory, '.uploads', upload.uploadId);
    await fs.mkdir(folder, { recursive: true });
    await fs.writeFile(join(folder, 'key'), upload.key);
    await fs.writeFile(join(folder, 'completing'), '');
    assert.deepEqual(await store.listMultipartUploads(''), [], 'an upload being completed is not open');
    await store.put('crash/object', text('overwritten later'));
    await store.completeMultipartUpload(upload, [part]);
    assert.equal(decode(await store.get('crash/object')), 'overwritten later');
    await assert.rejects(fs.stat(folder), /ENOENT/);
  });

  test('a complete that crashed after assembling publishes the assembled object on replay', async () => {
    const directory = freshFolder();
    const store = new LocalDirectoryObjectStore({ directory });
    const upload = await store.createMultipartUpload('crash2/object');
    const folder = join(directory, '.uploads', upload.uploadId);
    // Parts already deleted, `object` assembled, marker written: only the rename is left.
    await fs.writeFile(join(folder, 'object'), 'assembled before the crash');
    await fs.writeFile(join(folder, 'completing'), '');
    await store.completeMultipartUpload(upload, [{ partNumber: 1, etag: '"ignored on replay"' }]);
    assert.equal(decode(await store.get('crash2/object')), 'assembled before the crash');
  });
});

describe('FaultInjectingObjectStore', () => {
  test('fails the next K calls of an operation with a retriable error, then lets calls through', async () => {
    const store = new FaultInjectingObjectStore(new MemoryObjectStore());
    store.failNext('put', 2);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(store.put('k', text('v')), (error: unknown) => error instanceof InjectedObjectStoreFault && error.retriable);
    }
    await store.put('k', text('v'));
    assert.equal(store.injectedFailures('put'), 2);
    assert.equal(store.calls('put'), 3);
    assert.equal(decode(await store.get('k')), 'v');
    assert.equal(store.injectedFailures(), 2);
  });

  test('fails every Nth call', async () => {
    const store = new FaultInjectingObjectStore(new MemoryObjectStore());
    store.failEvery('put', 3);
    const outcomes: string[] = [];
    for (let i = 1; i <= 7; i++) {
      outcomes.push(await store.put(`k${i}`, text('v')).then(() => 'ok', () => 'failed'));
    }
    assert.deepEqual(outcomes, ['ok', 'ok', 'failed', 'ok', 'ok', 'failed', 'ok']);
    assert.equal(store.injectedFailures('put'), 2);
    assert.deepEqual((await store.list('')).map((info) => info.key), ['k1', 'k2', 'k4', 'k5', 'k7']);
    store.clearFaults();
    await store.put('k9', text('v'));
  });

  test('a fault "after" lets the call happen and loses its answer', async () => {
    const store = new FaultInjectingObjectStore(new MemoryObjectStore());
    store.failNext('put', 1, 'after');
    await assert.rejects(store.put('written', text('v'), { ifNoneMatch: true }), InjectedObjectStoreFault);
    assert.equal(decode(await store.get('written')), 'v');
    assert.equal(store.injectedFailures('put'), 1);
    assert.equal(store.injectedFailures('get'), 0);
  });
});
