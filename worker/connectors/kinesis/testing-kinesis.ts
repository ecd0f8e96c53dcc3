// For tests against kinesalite: streams with unique names, records written with PutRecords, and
// a harness that drives source readers the way the runtime does (splits dealt round-robin over
// subtasks, poll until a condition or a deadline) while recording what each one emitted.

import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { Source, SourceOutput, SourceReader, SplitState } from '../../../shared/api/connectors.ts';
import { waitFor } from '../../../shared/testing/wait-for.ts';

let streamCounter = 0;

/** Creates an ACTIVE stream named `<prefix>-<unique>`. */
export async function createTestStream(client: KinesisClient, prefix: string, shardCount: number): Promise<string> {
  const streamName = `${prefix}-${process.pid}-${Date.now()}-${streamCounter++}`;
  await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  await waitForActive(client, streamName);
  return streamName;
}

export async function waitForActive(client: KinesisClient, streamName: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(`stream ${streamName} to be ACTIVE`, timeoutMs, async () => {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    return summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  }, 20);
}

/** Writes records in PutRecords calls of up to 500, in order; fails if any entry failed. */
export async function putTestRecords(client: KinesisClient, streamName: string, records: ReadonlyArray<{ key: string; data: string }>): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    const response = await client.send(new PutRecordsCommand({ StreamName: streamName, Records: chunk.map((r) => ({ PartitionKey: r.key, Data: Buffer.from(r.data) })) }));
    if (response.FailedRecordCount) throw new Error(`${response.FailedRecordCount} test records were not written`);
  }
}

export interface Emitted<T> {
  readonly value: T;
  readonly subtask: number;
  readonly splitIndex: number;
  readonly timestamp: number | undefined;
}

export interface DeadLettered {
  readonly raw: string;
  readonly reason: string;
  readonly position: string;
}

/** Readers of one source over `parallelism` subtasks, polled in turn. */
export class ReaderHarness<T> {
  readonly emitted: Emitted<T>[] = [];
  readonly deadLetters: DeadLettered[] = [];
  readonly finishedSplits: Array<{ subtask: number; splitIndex: number }> = [];
  readonly readers: SourceReader<T>[] = [];

  private constructor(readonly parallelism: number) {}

  /** Splits from `splits` (one list per subtask) or from the source's discovery, dealt round-robin. */
  static async start<T>(source: Source<T>, parallelism: number, splits?: ReadonlyArray<readonly SplitState[]>): Promise<ReaderHarness<T>> {
    const harness = new ReaderHarness<T>(parallelism);
    const discovered = splits ? undefined : await source.discoverSplits({ parallelism });
    for (let i = 0; i < parallelism; i++) {
      const reader = source.createReader({ subtaskIndex: i, parallelism, now: () => Date.now() });
      await reader.addSplits(splits ? splits[i] ?? [] : discovered!.filter((_, j) => j % parallelism === i));
      harness.readers.push(reader);
    }
    return harness;
  }

  private output(subtask: number): SourceOutput<T> {
    return {
      collect: (value, splitIndex, timestamp) => this.emitted.push({ value, subtask, splitIndex, timestamp }),
      deadLetter: (raw, reason, position) => this.deadLetters.push({ raw, reason, position }),
      finishSplit: (splitIndex) => this.finishedSplits.push({ subtask, splitIndex }),
    };
  }

  /** Polls every reader (batches of `maxRecords`) until `done()` or the deadline. */
  async pollUntil(done: () => boolean, what: string, timeoutMs = 30_000, maxRecords = 100): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const outputs = this.readers.map((_, i) => this.output(i));
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.emitted.length} records emitted)`);
      let progressed = false;
      for (let i = 0; i < this.readers.length; i++) {
        const status = await this.readers[i]!.poll(outputs[i]!, maxRecords);
        if (status === 'more') progressed = true;
        if (done()) return;
      }
      if (!progressed) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Each reader's split positions: what a checkpoint would hold. */
  snapshot(): SplitState[][] {
    return this.readers.map((r) => r.snapshotSplits());
  }

  async close(): Promise<void> {
    for (const reader of this.readers) await reader.close();
  }
}
