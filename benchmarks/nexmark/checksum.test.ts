// The canonical forms are the contract with the Java baseline: pin them with literal lines.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalEvent, canonicalNumber, canonicalOutput, eventsChecksum, OutputChecksum } from './checksum.ts';

describe('Nexmark checksums', () => {
  it('write numbers as integers or with six decimals', () => {
    assert.deepEqual([1500, -3, 0, 1.5, 2 / 3, 1e21].map(canonicalNumber), ['1500', '-3', '0', '1.500000', '0.666667', '1e+21']);
  });

  it('write events and results as fields joined by "|"', () => {
    const bid = { kind: 'bid', auction: 1001, bidder: 1002, price: 250, channel: 'Google', url: 'https://x/y', dateTime: 1436918400001, extra: '' } as const;
    assert.equal(canonicalEvent(bid), 'B|1001|1002|250|Google|https://x/y|1436918400001|');
    assert.equal(canonicalOutput('q1', { auction: 1001, bidder: 1002, price: 227, dateTime: 7 }), '1001|1002|227|7');
    assert.equal(canonicalOutput('q5', { windowEnd: 10000, auctions: [1000, 1007], bids: 3 }), '10000|1000,1007|3');
    assert.equal(canonicalOutput('q4', { category: 10, average: 1234.5, auctions: 2 }), '10|1234.500000|2');
  });

  it('hash events in order and results in any order', () => {
    const line = 'B|1|2|3|c|u|4|';
    assert.equal(eventsChecksum([]), createHash('sha256').digest('hex'));
    const a = new OutputChecksum();
    const b = new OutputChecksum();
    for (const l of ['x', 'y', 'z']) a.add(l);
    for (const l of ['z', 'x', 'y']) b.add(l);
    assert.equal(a.hex, b.hex);
    assert.equal(a.count, 3);
    const c = new OutputChecksum();
    c.add(line);
    assert.equal(c.hex, createHash('sha256').update(line).digest().subarray(0, 8).toString('hex'));
  });

  it('combine the checksums of parallel writers into the checksum of all their lines', () => {
    const lines = ['a', 'b', 'c', 'd', 'e'];
    const all = new OutputChecksum();
    for (const l of lines) all.add(l);
    const left = new OutputChecksum();
    const right = new OutputChecksum();
    for (const l of lines.slice(0, 2)) left.add(l);
    for (const l of lines.slice(2)) right.add(l);
    assert.deepEqual(OutputChecksum.combine([left, right]), { hex: all.hex, count: 5 });
    assert.deepEqual(OutputChecksum.combine([]), { hex: '0000000000000000', count: 0 });
    // The sum wraps modulo 2^64.
    assert.deepEqual(OutputChecksum.combine([{ hex: 'ffffffffffffffff', count: 1 }, { hex: '0000000000000002', count: 1 }]), { hex: '0000000000000001', count: 2 });
  });
});
