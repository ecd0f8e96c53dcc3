// The behaviour every ObjectStore must have, as one suite of node:test tests that each
// implementation's test file runs against its own store (object-store.test.ts for memory and the
// local directory, object-store.s3.test.ts for a real S3-compatible server). Each test opens a
// fresh, empty store and closes it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectStore, UploadedPart } from './object-store.ts';
import { InvalidObjectKeyError, ObjectExistsError, ObjectNotFoundError } from './errors.ts';
import { MIN_MULTIPART_PART_BYTES } from './multipart-parts.ts';
import { ExternalSystemError } from '../errors.ts';

export interface ObjectStoreContractOptions {
  /** Per test; S3 on a loaded machine needs more than the default. */
  readonly timeoutMs?: number;
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A part of exactly S3's minimum size, filled with a pattern that makes misordered parts visible. */
function bigPart(seed: number): Uint8Array {
  const bytes = new Uint8Array(MIN_MULTIPART_PART_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

async function withStore(openStore: () => Promise<ObjectStore>, body: (store: ObjectStore) => Promise<void>): Promise<void> {
  const store = await openStore();
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

/** Runs `work` on every item with at most `limit` at once. */
async function inBatches<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += limit) {
    await Promise.all(items.slice(start, start + limit).map(work));
  }
}

export function describeObjectStoreContract(
  name: string,
  openStore: () => Promise<ObjectStore>,
  options: ObjectStoreContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 30_000;
  const it = (title: string, body: (store: ObjectStore) => Promise<void>) =>
    test(title, { timeout }, () => withStore(openStore, body));

  describe(`ObjectStore contract: ${name}`, () => {
    it('put then get returns the same bytes, empty and binary ones too; a put overwrites', async (store) => {
      const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.put('data/binary', binary);
      await store.put('data/empty', new Uint8Array());
      await store.put('data/text', text('first'));
      await store.put('data/text', text('second'));
      assert.deepEqual(await store.get('data/binary'), binary);
      assert.equal((await store.get('data/empty')).byteLength, 0);
      assert.equal(decode(await store.get('data/text')), 'second');
    });

    it('head gives the size of an object and undefined for a missing key', async (store) => {
      await store.put('h/object', text('12345'));
      assert.deepEqual(await store.head('h/object'), { key: 'h/object', size: 5 });
      assert.equal(await store.head('h/missing'), undefined);
      assert.equal(await store.head('h'), undefined, 'a prefix of a key is not an object');
    });

    it('get of a missing key fails with ObjectNotFoundError naming the key and the store', async (store) => {
      await assert.rejects(store.get('nowhere/missing-key'), (error: unknown) => {
        assert.ok(error instanceof ObjectNotFoundError, `got ${String(error)}`);
        assert.match(error.message, /nowhere\/missing-key/);
        assert.ok(error.message.includes(store.location), error.message);
        assert.equal(error.retriable, false);
        return true;
      });
    });

    it('list returns the objects under a prefix in key order, with sizes', async (store) => {
      const keys = ['b/2', 'a/sub/x', 'a/10', 'c', 'a/1', 'ab', 'a/2'];
      for (const key of keys) await store.put(key, text(key));
      const listed = async (prefix: string) => (await store.list(prefix)).map((info) => info.key);
      assert.deepEqual(await listed('a/'), ['a/1', 'a/10', 'a/2', 'a/sub/x']);
      assert.deepEqual(await listed('a'), ['a/1', 'a/10', 'a/2', 'a/sub/x', 'ab']);
      assert.deepEqual(await listed('a/s'), ['a/sub/x']);
      assert.deepEqual(await listed(''), ['a/1', 'a/10', 'a/2', 'a/sub/x', 'ab', 'b/2', 'c']);
      assert.deepEqual(await listed('zz'), []);
      assert.deepEqual(await store.list('a/1'), [{ key: 'a/1', size: 3 }, { key: 'a/10', size: 4 }]);
    });

    it('keys with spaces, non-ASCII and URL-special characters round-trip and list in UTF-8 order', async (store) => {
      const keys = ['odd/a b+c=d&e?f#g%h', 'odd/é/日本', 'odd/😀', 'odd/\uFF5E'];
      for (const key of keys) await store.put(key, text(`value of ${key}`));
      for (const key of keys) assert.equal(decode(await store.get(key)), `value of ${key}`);
      // UTF-8 byte order: 'a' < 'é' (C3 A9) < U+FF5E (EF BD 9E) < U+1F600 (F0 9F 98 80), although
      // U+1F600's UTF-16 form (D83D DE00) sorts before U+FF5E.
      assert.deepEqual(
        (await store.list('odd/')).map((info) => info.key),
        ['odd/a b+c=d&e?f#g%h', 'odd/é/日本', 'odd/\uFF5E', 'odd/😀'],
      );
    });

    it('refuses keys that are not relative paths', async (store) => {
      for (const key of ['', '/absolute', 'a//b', 'a/../b', './a', 'a/']) {
        await assert.rejects(store.put(key, text('x')), InvalidObjectKeyError, `key ${JSON.stringify(key)}`);
      }
    });

    it('delete removes the keys, ignores missing ones, and takes more than 1000 keys at once', async (store) => {
      const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      await inBatches(keys, 25, (key) => store.put(key, text(key)));
      await store.put('kept', text('kept'));
      assert.equal((await store.list('many/')).length, 1005);
      await store.delete([...keys, 'many/never-written']);
      assert.deepEqual(await store.list('many/'), []);
      assert.deepEqual(await store.list(''), [{ key: 'kept', size: 4 }]);
      await store.delete(['kept', 'kept']);
      assert.deepEqual(await store.list(''), []);
      await store.delete([]);
    });

    it('ifNoneMatch creates a missing key and refuses an existing one, which stays unchanged', async (store) => {
      await store.put('cond/key', text('first'), { ifNoneMatch: true });
      await assert.rejects(store.put('cond/key', text('second'), { ifNoneMatch: true }), (error: unknown) => {
        assert.ok(error instanceof ObjectExistsError, `got ${String(error)}`);
        assert.match(error.message, /cond\/key/);
        assert.equal(error.retriable, false);
        return true;
      });
      assert.equal(decode(await store.get('cond/key')), 'first');
      await store.put('cond/key', text('third'));
      assert.equal(decode(await store.get('cond/key')), 'third', 'a put without ifNoneMatch overwrites');
    });

    it('ifNoneMatch: of racing puts to one key exactly one wins, and its bytes are stored', async (store) => {
      for (let round = 0; round < 5; round++) {
        const key = `race/${round}`;
        const writers = ['writer-a', 'writer-b', 'writer-c'];
        const results = await Promise.allSettled(writers.map((writer) => store.put(key, text(writer), { ifNoneMatch: true })));
        const winners = writers.filter((_, i) => results[i]!.status === 'fulfilled');
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
        for (const result of results) {
          if (result.status === 'rejected') assert.ok(result.reason instanceof ObjectExistsError, String(result.reason));
        }
        assert.equal(decode(await store.get(key)), winners[0]);
      }
    });

    it('multipart: the object is invisible until complete, then holds the parts in order', async (store) => {
      const first = bigPart(1);
      const upload = await store.createMultipartUpload('mp/object');
      assert.equal(upload.key, 'mp/object');
      const part2 = await store.uploadPart(upload, 2, text('the tail'));
      const part1 = await store.uploadPart(upload, 1, first);
      assert.equal(await store.head('mp/object'), undefined);
      assert.deepEqual(await store.list('mp/'), []);
      assert.deepEqual(await store.listMultipartUploads('mp/'), [upload]);
      await store.completeMultipartUpload(upload, [part1, part2]);
      const stored = await store.get('mp/object');
      assert.equal(stored.byteLength, first.byteLength + 8);
      assert.ok(Buffer.from(stored.subarray(0, first.byteLength)).equals(first), 'part 1 first');
      assert.equal(decode(stored.subarray(first.byteLength)), 'the tail');
      assert.deepEqual(await store.listMultipartUploads('mp/'), []);
    });

    it('multipart: completing again succeeds and does not write the object again', async (store) => {
      const upload = await store.createMultipartUpload('again/object');
      const part = await store.uploadPart(upload, 1, text('from the upload'));
      await store.completeMultipartUpload(upload, [part]);
      await store.put('again/object', text('written after'));
      await store.completeMultipartUpload(upload, [part]);
      assert.equal(decode(await store.get('again/object')), 'written after');
    });

    it('multipart: completing an unknown upload succeeds when the object exists, else fails naming the key', async (store) => {
      await store.put('unknown/exists', text('there'));
      const parts: UploadedPart[] = [{ partNumber: 1, etag: '"00000000000000000000000000000000"' }];
      await store.completeMultipartUpload({ key: 'unknown/exists', uploadId: 'no-such-upload' }, parts);
      assert.equal(decode(await store.get('unknown/exists')), 'there');
      await assert.rejects(store.completeMultipartUpload({ key: 'unknown/missing', uploadId: 'no-such-upload' }, parts), (error: unknown) => {
        assert.ok(error instanceof ObjectNotFoundError, `got ${String(error)}`);
        assert.match(error.message, /unknown\/missing/);
        return true;
      });
    });

    it('multipart: abort drops the upload; aborting again is fine; completing it then fails', async (store) => {
      const upload = await store.createMultipartUpload('abort/object');
      const part = await store.uploadPart(upload, 1, text('never visible'));
      await store.abortMultipartUpload(upload);
      assert.deepEqual(await store.listMultipartUploads('abort/'), []);
      await store.abortMultipartUpload(upload);
      await assert.rejects(store.completeMultipartUpload(upload, [part]), ObjectNotFoundError);
      assert.equal(await store.head('abort/object'), undefined);
    });

    it('multipart: listMultipartUploads keeps to the prefix, in key order', async (store) => {
      const later = await store.createMultipartUpload('x/2');
      const earlier = await store.createMultipartUpload('x/1');
      const other = await store.createMultipartUpload('y/1');
      assert.deepEqual(await store.listMultipartUploads('x/'), [earlier, later]);
      assert.deepEqual(await store.listMultipartUploads('y'), [other]);
      assert.deepEqual(await store.listMultipartUploads('z'), []);
      for (const upload of [later, earlier, other]) await store.abortMultipartUpload(upload);
    });

    it('multipart: a wrong ETag or a small part before the last is refused, naming the key', async (store) => {
      const upload = await store.createMultipartUpload('bad/object');
      const small = await store.uploadPart(upload, 1, text('too small to come first'));
      const last = await store.uploadPart(upload, 2, text('last'));
      const refusedNamingKey = (error: unknown) => {
        assert.ok(error instanceof ExternalSystemError, `got ${String(error)}`);
        assert.match(error.message, /bad\/object/);
        return true;
      };
      await assert.rejects(store.completeMultipartUpload(upload, [small, last]), refusedNamingKey);
      await assert.rejects(store.completeMultipartUpload(upload, [{ partNumber: 1, etag: '"0123456789abcdef0123456789abcdef"' }]), refusedNamingKey);
      assert.equal(await store.head('bad/object'), undefined);
      await store.abortMultipartUpload(upload);
    });
  });
}
