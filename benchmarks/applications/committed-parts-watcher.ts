// When an S3 file sink's output became visible: lists the part objects under a prefix every
// `pollMs` and keeps, for each, the time it was first seen and its LastModified. A part is
// visible once its checkpoint committed, so "first seen" is when a reader of the bucket could
// have read it (to within one listing).

import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

export interface CommittedPart {
  readonly key: string;
  readonly firstSeenAtMs: number;
  readonly lastModifiedMs: number;
  readonly bytes: number;
}

const PART_KEY = /\/part-[^/]+$/;

export class CommittedPartsWatcher {
  private readonly seen = new Map<string, CommittedPart>();
  private stopped = false;
  private readonly loop: Promise<void>;
  /** Listing errors (the store busy with checkpoints) are retried; the last is kept for a timeout message. */
  private lastError: unknown;

  private constructor(private readonly client: S3Client, private readonly bucket: string, private readonly prefix: string, private readonly pollMs: number) {
    this.loop = this.poll();
  }

  static start(client: S3Client, bucket: string, prefix: string, pollMs = 50): CommittedPartsWatcher {
    return new CommittedPartsWatcher(client, bucket, prefix, pollMs);
  }

  /** Every part seen so far, in the order seen. */
  parts(): CommittedPart[] {
    return [...this.seen.values()];
  }

  /** The first part first seen at or after `sinceMs`; waits for it up to `timeoutMs`. */
  async firstPartSince(sinceMs: number, timeoutMs: number): Promise<CommittedPart> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const part = this.parts().find((p) => p.firstSeenAtMs >= sinceMs);
      if (part) return part;
      if (Date.now() > deadline) {
        throw new Error(`no part object appeared under s3://${this.bucket}/${this.prefix} within ${timeoutMs} ms${this.lastError ? ` (last listing error: ${(this.lastError as Error).message})` : ''}`);
      }
      await sleep(this.pollMs / 2);
    }
  }

  /** The records of one part, one JSON object a line. */
  async records<T>(part: CommittedPart): Promise<T[]> {
    const body = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: part.key }))).Body!;
    return (await body.transformToString()).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as T);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      const startedAt = Date.now();
      try {
        let token: string | undefined;
        do {
          const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }));
          const listedAt = Date.now();
          for (const object of page.Contents ?? []) {
            if (!PART_KEY.test(object.Key!) || this.seen.has(object.Key!)) continue;
            this.seen.set(object.Key!, { key: object.Key!, firstSeenAtMs: listedAt, lastModifiedMs: object.LastModified?.getTime() ?? NaN, bytes: object.Size ?? 0 });
          }
          token = page.NextContinuationToken;
        } while (token);
      } catch (error) {
        this.lastError = error;
      }
      await sleep(Math.max(0, this.pollMs - (Date.now() - startedAt)));
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
