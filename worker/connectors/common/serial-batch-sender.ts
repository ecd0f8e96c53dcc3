// What the buffering at-least-once sinks (OpenSearch, PostgreSQL, DynamoDB, Kinesis) do with a
// batch once they have cut it. Batches go out one after the other, so a later write of a key
// lands after an earlier one; the first failure stops the sending and is what the next write and
// the next barrier throw; a barrier waits for every batch cut before it. Each sink keeps its own
// buffer, because they differ (documents by bytes, rows by statement, items merged by key,
// records under a hard byte limit), and decides when to cut it.

export class SerialBatchSender<B> {
  private sending: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  /** `send` writes one batch, retrying as the sink sees fit; what it throws fails the writer. */
  constructor(private readonly send: (batch: B) => Promise<void>) {}

  /** Throws the first failure of a send, if one has failed. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Sends `batch` once the batches before it are sent; drops it if one of them failed. */
  enqueue(batch: B): void {
    this.sending = this.sending.then(async () => {
      if (this.failure) return;
      try {
        await this.send(batch);
      } catch (error) {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      }
    });
  }

  /** Waits for every batch enqueued so far to be sent; throws the first failure. */
  async drain(): Promise<void> {
    await this.sending;
    this.throwIfFailed();
  }

  /** Waits for every batch enqueued so far to be sent or dropped; never throws (for close). */
  settled(): Promise<void> {
    return this.sending;
  }
}
