// A sink whose commit fails after the checkpoint is complete: the checkpoint must stay (it is
// the one a restore needs), the job must fail rather than go on, and the restore must finish
// the commit — every record exactly once.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Sink, SinkWriter } from '../../shared/api/connectors.ts';
import { LocalDirectoryCheckpointStorage } from '../../shared/checkpoint/checkpoint-storage.ts';
import { CollectSink } from '../connectors/collect-sink.ts';
import { runEmbedded } from '../testing/embedded-harness.ts';
import { deterministicEnv } from '../testing/pipeline-helpers.ts';

/** A CollectSink whose first commit throws. */
class CommitFailsOnceSink<T> implements Sink<T> {
  readonly name = 'CommitFailsOnce';
  readonly inner = new CollectSink<T>();
  failuresLeft = 1;

  createWriter(context: { subtaskIndex: number }): SinkWriter<T> {
    const writer = this.inner.createWriter(context);
    return {
      ...writer,
      commit: async (committables) => {
        if (this.failuresLeft-- > 0) throw new Error('the sink is unreachable');
        await writer.commit(committables);
      },
    };
  }
}

const directory = mkdtempSync(join(tmpdir(), 'sluice-commit-failure-'));
after(() => rmSync(directory, { recursive: true, force: true }));

describe('a failed commit of a completed checkpoint', () => {
  it('fails the job, keeps the checkpoint, and the restore commits every record once', async () => {
    const sink = new CommitFailsOnceSink<number>();
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    const build = () => {
      const env = deterministicEnv();
      env.fromCollection(values).uid('numbers').map((x) => x * 10).uid('times-ten').sinkTo(sink).uid('sink');
      return env;
    };
    const storage = new LocalDirectoryCheckpointStorage(directory);

    await assert.rejects(runEmbedded(build(), { checkpointStorage: storage }), /committing checkpoint 1 failed: the sink is unreachable/);
    assert.deepEqual(sink.inner.values, [], 'nothing may be visible before a commit succeeds');
    assert.deepEqual(await storage.listCompleted(), [1], 'the completed checkpoint must not be discarded');

    const restored = await runEmbedded(build(), { checkpointStorage: storage, restore: { storage, checkpointId: 1 } });
    assert.equal(restored.state, 'finished');
    assert.deepEqual([...sink.inner.values].sort((a, b) => a - b), values.map((x) => x * 10));
  });
});
