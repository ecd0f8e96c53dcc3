import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RestoreError } from '../../../shared/errors.ts';
import { nextFreePartIndex, ownsLeftoverPart, PartFileNaming, restoredNextPartIndex } from './part-file-naming.ts';

describe('PartFileNaming', () => {
  const naming = new PartFileNaming('part', 'json');

  it('names a part and reads the name back', () => {
    assert.equal(naming.fileName(3, 17), 'part-3-17.json');
    assert.deepEqual(naming.parse('part-3-17.json'), { subtask: 3, index: 17 });
  });

  it('reads the last segment of a key', () => {
    assert.deepEqual(naming.parse('dt=2026-11-27/hr=06/part-0-4.json'), { subtask: 0, index: 4 });
    assert.equal(naming.parse('dt=2026-11-27/xpart-0-4.json'), undefined);
  });

  it('refuses other prefixes, extensions and shapes', () => {
    for (const name of ['other-0-1.json', 'part-0-1.parquet', 'part-0-1.json.tmp', 'part-0.json', 'part-a-1.json', '.part-0-1.json']) {
      assert.equal(naming.parse(name), undefined, name);
    }
  });

  it('takes a prefix literally, dots and dashes included', () => {
    const hidden = new PartFileNaming('.my-part', 'inprogress');
    assert.equal(hidden.fileName(0, 2), '.my-part-0-2.inprogress');
    assert.deepEqual(hidden.parse('.my-part-0-2.inprogress'), { subtask: 0, index: 2 });
    assert.equal(hidden.parse('xmy-part-0-2.inprogress'), undefined);
    assert.equal(hidden.parse('.my-part-0-2xinprogress'), undefined);
  });
});

describe('nextFreePartIndex', () => {
  it('starts past the highest index of the subtask, or at the given one', () => {
    const existing = [{ subtask: 0, index: 4 }, undefined, { subtask: 1, index: 50 }, { subtask: 0, index: 11 }];
    assert.equal(nextFreePartIndex(0, 3, existing), 12);
    assert.equal(nextFreePartIndex(0, 20, existing), 20);
    assert.equal(nextFreePartIndex(1, 0, existing), 51);
    assert.equal(nextFreePartIndex(2, 7, existing), 7);
  });
});

describe('restoredNextPartIndex', () => {
  it('takes the highest of the restored states, 0 for none', () => {
    assert.equal(restoredNextPartIndex(undefined, 'S'), 0);
    assert.equal(restoredNextPartIndex({ nextPartIndex: 5 }, 'S'), 5);
    assert.equal(restoredNextPartIndex([{ nextPartIndex: 3 }, null, { nextPartIndex: 7 }], 'S'), 7);
  });

  it('refuses a state without a valid index, naming the sink', () => {
    assert.throws(() => restoredNextPartIndex([{ next: 1 }], 'MySink'), (error: unknown) => error instanceof RestoreError && /^MySink: .*has no valid nextPartIndex/.test(error.message));
    assert.throws(() => restoredNextPartIndex({ nextPartIndex: -1 }, 'MySink'), RestoreError);
  });
});

describe('ownsLeftoverPart', () => {
  it('owns its own index and, after a scale-down, the old subtasks whose state it receives', () => {
    const subtask0of2 = { subtaskIndex: 0, parallelism: 2 };
    assert.ok(ownsLeftoverPart(subtask0of2, { subtask: 0, index: 1 }));
    assert.ok(ownsLeftoverPart(subtask0of2, { subtask: 2, index: 1 }));
    assert.ok(!ownsLeftoverPart(subtask0of2, { subtask: 1, index: 1 }));
    assert.ok(!ownsLeftoverPart(subtask0of2, { subtask: 3, index: 1 }));
  });
});
