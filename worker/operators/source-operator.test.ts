// The source operator's watermarks: one generator per split, merged as the minimum over splits
// that are neither idle nor finished; idleness by processing time on a manual clock; the
// watermark after every record when the interval is 0; a subtask without a split idle until it
// gets one; splits a reader discovers; dead letters with their position; the reader's parallelism
// in its state; the splits it has not finished, for the status.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PollStatus, Source, SourceOutput, SourceReader, SplitState } from '../../shared/api/connectors.ts';
import { WatermarkStrategy } from '../../shared/api/watermark-strategy.ts';
import { ManualClock } from '../../shared/clock.ts';
import { InMemoryDeadLetterOutput } from '../runtime/dead-letter.ts';
import type { Output } from '../runtime/output.ts';
import { SourceOperator } from './source-operator.ts';

type Step = { split: number; t: number } | { finish: number } | { bad: string; position: string };

/** A source whose reader replays a script of records, one poll per call of `poll`. */
class ScriptedSource implements Source<{ t: number }> {
  readonly name = 'scripted';
  readonly bounded = false;
  constructor(private readonly polls: Step[][]) {}
  discoverSplits(): SplitState[] {
    return [];
  }
  createReader(): SourceReader<{ t: number }> {
    const polls = this.polls;
    let next = 0;
    return {
      addSplits() {},
      poll(output: SourceOutput<{ t: number }>): PollStatus {
        for (const step of polls[next++] ?? []) {
          if ('finish' in step) output.finishSplit(step.finish);
          else if ('bad' in step) output.deadLetter(step.bad, 'not JSON', step.position);
          else output.collect({ t: step.t }, step.split, step.t);
        }
        return 'more';
      },
      snapshotSplits: () => [],
      close() {},
    };
  }
}

class RecordingOutput implements Output {
  readonly events: string[] = [];
  collect(value: unknown): void {
    this.events.push(`record ${(value as { t: number }).t}`);
  }
  collectSide(): void {}
  emitWatermark(watermark: number): void {
    this.events.push(`watermark ${watermark}`);
  }
  emitIdle(idle: boolean): void {
    this.events.push(idle ? 'idle' : 'active');
  }
}

async function sourceOperator(polls: Step[][], strategy: WatermarkStrategy<{ t: number }>, intervalMs: number, splits = 2) {
  const clock = new ManualClock(1_000);
  const output = new RecordingOutput();
  const deadLetters = new InMemoryDeadLetterOutput();
  const operator = new SourceOperator(new ScriptedSource(polls) as Source<unknown>, strategy as WatermarkStrategy<unknown>, intervalMs, deadLetters);
  operator.setup({ uid: 'src', name: 'Source: scripted', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, properties: {}, clock, output });
  await operator.initialize(Array.from({ length: splits }, (_, i) => ({ id: `split-${i}`, position: 0 })));
  return { operator, output, clock, deadLetters };
}

describe('source watermarks', () => {
  it('are the minimum over splits, emitted at the interval', async () => {
    const { operator, output, clock } = await sourceOperator(
      [[{ split: 0, t: 100 }, { split: 1, t: 40 }], [{ split: 0, t: 200 }], [{ split: 1, t: 300 }]],
      WatermarkStrategy.forBoundedOutOfOrderness(10),
      200,
    );
    operator.poll(100);
    operator.emitWatermarkIfAdvanced(clock.now());
    operator.poll(100);
    operator.emitWatermarkIfAdvanced(clock.now());
    operator.poll(100);
    operator.emitWatermarkIfAdvanced(clock.now());
    // min(100, 40) - 10 - 1 = 29; split 1 still at 40; then min(200, 300) - 11 = 189.
    assert.deepEqual(output.events, ['record 100', 'record 40', 'watermark 29', 'record 200', 'record 300', 'watermark 189']);
  });

  it('advance after every record when the interval is 0', async () => {
    const { operator, output } = await sourceOperator([[{ split: 0, t: 100 }, { split: 0, t: 150 }, { split: 0, t: 120 }]], WatermarkStrategy.forBoundedOutOfOrderness(0), 0, 1);
    operator.poll(100);
    assert.deepEqual(output.events, ['record 100', 'watermark 99', 'record 150', 'watermark 149', 'record 120']);
  });

  it('ignore a finished split', async () => {
    const { operator, output, clock } = await sourceOperator(
      [[{ split: 0, t: 500 }, { split: 1, t: 50 }, { finish: 1 }]],
      WatermarkStrategy.forBoundedOutOfOrderness(0),
      200,
    );
    operator.poll(100);
    operator.emitWatermarkIfAdvanced(clock.now());
    assert.deepEqual(output.events, ['record 500', 'record 50', 'watermark 499']);
  });

  it('ignore a split idle for the idle timeout, and the subtask goes idle when all are', async () => {
    const { operator, output, clock } = await sourceOperator(
      [[{ split: 0, t: 500 }, { split: 1, t: 50 }], [{ split: 0, t: 900 }], [], [{ split: 1, t: 60 }]],
      WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(0).withIdleness(100),
      50,
    );
    operator.poll(100); // both splits active at t = 1000
    operator.emitWatermarkIfAdvanced(clock.now());
    clock.advance(60);
    operator.poll(100); // split 0 again at 1060; split 1 silent since 1000
    operator.emitWatermarkIfAdvanced(clock.now());
    clock.advance(50); // 1110: split 1 silent for 110 ms, idle; split 0 for 50 ms
    operator.emitWatermarkIfAdvanced(clock.now());
    clock.advance(100); // 1210: both silent past the timeout
    operator.poll(100);
    operator.emitWatermarkIfAdvanced(clock.now());
    operator.poll(100); // split 1 wakes up with an old timestamp
    operator.emitWatermarkIfAdvanced(clock.now());
    assert.deepEqual(output.events, [
      'record 500',
      'record 50',
      'watermark 49',
      'record 900',
      'watermark 899', // split 1 idle: only split 0 counts
      'idle',
      'active',
      'record 60', // split 1 is back, but the watermark never goes back
    ]);
  });

  it('are idle at once in a subtask without a split, at interval 0, until a split is added', async () => {
    const { operator, output } = await sourceOperator([[{ split: 0, t: 100 }]], WatermarkStrategy.forBoundedOutOfOrderness(0), 0, 0);
    operator.idleIfWithoutSplits();
    operator.idleIfWithoutSplits();
    assert.deepEqual(output.events, ['idle']);
    await operator.addSplits([{ id: 'split-0', position: 0 }]); // a live rescale hands it one
    assert.deepEqual(output.events, ['idle', 'active'], 'active as soon as it has a split, before its first record');
    operator.poll(100);
    assert.deepEqual(output.events, ['idle', 'active', 'record 100', 'watermark 99']);
  });

  it('are not idle in a subtask that has a split, and go idle when a rescale leaves it none', async () => {
    const { operator, output } = await sourceOperator([[{ split: 0, t: 100 }]], WatermarkStrategy.forBoundedOutOfOrderness(0), 0, 1);
    operator.idleIfWithoutSplits();
    operator.poll(100);
    assert.deepEqual(output.events, ['record 100', 'watermark 99']);
    await operator.reassign(new Set(), 2);
    assert.deepEqual(output.events, ['record 100', 'watermark 99', 'idle']);
  });

  it('take in a split the reader discovered itself, which then holds the watermark back too', async () => {
    const { operator, output, clock } = await sourceOperator(
      [[{ split: 0, t: 500 }], [{ split: 1, t: 100 }, { split: 0, t: 600 }], [{ finish: 1 }]],
      WatermarkStrategy.forBoundedOutOfOrderness(0),
      200,
      1,
    );
    operator.poll(100);
    operator.emitWatermarkIfAdvanced(clock.now());
    operator.poll(100); // split 1 was not given: the reader found it (a new Kafka partition)
    operator.emitWatermarkIfAdvanced(clock.now());
    operator.poll(100);
    operator.emitWatermarkIfAdvanced(clock.now());
    assert.deepEqual(output.events, ['record 500', 'watermark 499', 'record 100', 'record 600', 'watermark 599']);
  });

  it('send unreadable records to the dead-letter output with their position', async () => {
    const { operator, output, deadLetters } = await sourceOperator(
      [[{ split: 0, t: 1 }, { bad: '{oops', position: 'in.jsonl:2' }, { split: 0, t: 3 }]],
      WatermarkStrategy.noWatermarks(),
      200,
      1,
    );
    operator.poll(100);
    assert.deepEqual(output.events, ['record 1', 'record 3']);
    assert.equal(deadLetters.count, 1);
    assert.deepEqual(deadLetters.letters[0], { operator: 'Source: scripted', subtask: 0, position: 'in.jsonl:2', reason: 'not JSON', raw: '{oops' });
  });
});

describe('source state', () => {
  it('records the parallelism its reader runs at, the one a live rescale reopens it with after the barrier', async () => {
    const { operator } = await sourceOperator([], WatermarkStrategy.noWatermarks(), 200, 1);
    assert.deepEqual((await operator.snapshotState()).operatorState, { splits: [], parallelism: 1 });
    const atBarrier = operator.snapshotState();
    await operator.reassign(new Set(), 4);
    assert.deepEqual((await atBarrier).operatorState, { splits: [], parallelism: 1 });
    assert.deepEqual((await operator.snapshotState()).operatorState, { splits: [], parallelism: 4 });
  });
});

describe('source status', () => {
  it('names the splits its reader has not finished: what a running source subtask still waits for', async () => {
    let finishAtNextPoll: number[] = [];
    const source: Source<unknown> = {
      name: 'held splits',
      bounded: true,
      discoverSplits: () => [],
      createReader: () => {
        const held: SplitState[] = [];
        return {
          addSplits: (splits) => void held.push(...splits),
          poll(output: SourceOutput<unknown>): PollStatus {
            for (const split of finishAtNextPoll.splice(0)) output.finishSplit(split);
            return 'more';
          },
          snapshotSplits: () => held,
          close() {},
        };
      },
    };
    const operator = new SourceOperator(source, WatermarkStrategy.noWatermarks(), 200, new InMemoryDeadLetterOutput());
    operator.setup({ uid: 'src', name: 'Source: held', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, properties: {}, clock: new ManualClock(0), output: new RecordingOutput() });
    await operator.initialize([{ id: 'a', position: 0 }, { id: 'b', position: 0 }, { id: 'c', position: 0 }]);
    assert.deepEqual(operator.unfinishedSplitIds(), ['a', 'b', 'c']);
    finishAtNextPoll = [0, 2];
    operator.poll(100);
    assert.deepEqual(operator.unfinishedSplitIds(), ['b']);
  });
});
