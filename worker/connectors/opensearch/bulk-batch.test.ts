// The bulk batch alone: one action per (index, id) with the last write winning, the body and its
// byte count, and the reading of per-item results into written, retry (429/503) and failed.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulkBatch, bulkBody, bulkEntry, readBulkResponse } from './bulk-batch.ts';

describe('BulkBatch', () => {
  it('keeps the last write of each (index, id), in the order of last writes, and counts body bytes', () => {
    const batch = new BulkBatch();
    batch.add(bulkEntry('a', '1', '{"v":1}'));
    batch.add(bulkEntry('a', '2', '{"v":2}'));
    batch.add(bulkEntry('b', '1', '{"v":3}'));
    batch.add(bulkEntry('a', '1', '{"v":"é"}'));
    assert.equal(batch.size, 3);
    const entries = batch.take();
    assert.deepEqual(entries.map((e) => [e.index, e.id, e.sourceLine]), [['a', '2', '{"v":2}'], ['b', '1', '{"v":3}'], ['a', '1', '{"v":"é"}']]);
    const body = bulkBody(entries);
    assert.equal(body.split('\n').length, 7, 'two lines a document and a final line end');
    assert.deepEqual(JSON.parse(body.split('\n')[4]!), { index: { _index: 'a', _id: '1' } });
    assert.equal(batch.size, 0);
    assert.equal(batch.bytes, 0);
  });

  it('counts UTF-8 bytes of both lines and their line ends', () => {
    const batch = new BulkBatch();
    const entry = bulkEntry('i', 'x', '{"t":"é"}');
    batch.add(entry);
    assert.equal(batch.bytes, Buffer.byteLength(bulkBody([entry])));
  });
});

describe('readBulkResponse', () => {
  const entries = ['1', '2', '3', '4'].map((id) => bulkEntry('i', id, '{}'));

  it('with errors: false, all are written', () => {
    const items = entries.map((e) => ({ index: { _id: e.id, status: 201 } }));
    assert.deepEqual(readBulkResponse(entries, { errors: false, items }), { written: 4, retry: [], failed: [] });
  });

  it('429 and 503 items are to retry, other errors failed, each with its entry and reason', () => {
    const outcome = readBulkResponse(entries, {
      errors: true,
      items: [
        { index: { status: 200 } },
        { index: { status: 429, error: { type: 'cluster_block_exception', reason: 'blocked' } } },
        { index: { status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse', caused_by: { type: 'number_format_exception', reason: 'For input string' } } } },
        { index: { status: 503, error: { type: 'unavailable_shards_exception', reason: 'primary not active' } } },
      ],
    });
    assert.equal(outcome.written, 1);
    assert.deepEqual(outcome.retry.map((f) => [f.entry.id, f.status]), [['2', 429], ['4', 503]]);
    assert.deepEqual(outcome.failed.map((f) => [f.entry.id, f.status, f.type, f.reason]), [
      ['3', 400, 'mapper_parsing_exception', 'failed to parse (caused by number_format_exception: For input string)'],
    ]);
  });

  it('a response whose items do not match the request is an error', () => {
    assert.throws(() => readBulkResponse(entries, { errors: false, items: [] }), /0 items for 4 actions/);
  });
});
