// `sluice apps … --wait`: polls an application operation (or a snapshot) until it ends, showing
// progress on stderr: a live line on a terminal, a line now and then otherwise.

import * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { SluiceError } from '../shared/errors.ts';

export const WAIT_POLL_INTERVAL_MS = 500;
/** Without a terminal, how often a line says the wait goes on. */
const QUIET_PROGRESS_INTERVAL_MS = 10_000;

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** What was waited for did not end in time; it goes on. */
export class WaitTimeoutError extends SluiceError {
  override readonly domain = 'external' as const;
}

/** Polls DescribeApplicationOperation until the operation is no longer IN_PROGRESS; answers its details. */
export async function waitForOperation(
  client: sdk.KinesisAnalyticsV2Client,
  target: { readonly application: string; readonly operationId: string; readonly operation: string },
  timeoutMs: number,
  stderr: ProgressStream,
  pollIntervalMs = WAIT_POLL_INTERVAL_MS,
): Promise<sdk.ApplicationOperationInfoDetails> {
  const what = `${target.operation} ${target.operationId} of ${target.application}`;
  return poll(what, timeoutMs, stderr, pollIntervalMs, `sluice apps operations ${target.application} describe ${target.operationId}`, async () => {
    const details = (await client.send(new sdk.DescribeApplicationOperationCommand({ ApplicationName: target.application, OperationId: target.operationId }))).ApplicationOperationInfoDetails;
    if (details === undefined) throw new SluiceError(`DescribeApplicationOperation answered without ApplicationOperationInfoDetails for ${what}`);
    return { status: details.OperationStatus ?? 'unknown', done: details.OperationStatus !== 'IN_PROGRESS', value: details };
  });
}

/** Polls DescribeApplicationSnapshot until the snapshot is no longer CREATING; answers its details. */
export async function waitForSnapshot(
  client: sdk.KinesisAnalyticsV2Client,
  target: { readonly application: string; readonly snapshotName: string },
  timeoutMs: number,
  stderr: ProgressStream,
  pollIntervalMs = WAIT_POLL_INTERVAL_MS,
): Promise<sdk.SnapshotDetails> {
  const what = `snapshot ${target.snapshotName} of ${target.application}`;
  return poll(what, timeoutMs, stderr, pollIntervalMs, `sluice apps snapshots ${target.application} describe ${target.snapshotName}`, async () => {
    const details = (await client.send(new sdk.DescribeApplicationSnapshotCommand({ ApplicationName: target.application, SnapshotName: target.snapshotName }))).SnapshotDetails;
    if (details === undefined) throw new SluiceError(`DescribeApplicationSnapshot answered without SnapshotDetails for ${what}`);
    return { status: details.SnapshotStatus ?? 'unknown', done: details.SnapshotStatus !== 'CREATING', value: details };
  });
}

async function poll<T>(
  what: string,
  timeoutMs: number,
  stderr: ProgressStream,
  pollIntervalMs: number,
  followUp: string,
  probe: () => Promise<{ status: string; done: boolean; value: T }>,
): Promise<T> {
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  let lastLineAt = startedAt;
  if (!stderr.isTTY) stderr.write(`waiting for ${what} (up to ${Math.round(timeoutMs / 1000)} s)\n`);
  for (;;) {
    const { status, done, value } = await probe();
    if (stderr.isTTY) stderr.write(`\r\x1b[K${what}: ${status}, ${elapsed()}${done ? '\n' : ''}`);
    else if (done) stderr.write(`${what}: ${status} after ${elapsed()}\n`);
    else if (Date.now() - lastLineAt >= QUIET_PROGRESS_INTERVAL_MS) {
      stderr.write(`${what}: still ${status} after ${elapsed()}\n`);
      lastLineAt = Date.now();
    }
    if (done) return value;
    const remainingMs = startedAt + timeoutMs - Date.now();
    if (remainingMs <= 0) {
      if (stderr.isTTY) stderr.write('\n');
      throw new WaitTimeoutError(`${what} is still ${status} after ${timeoutMs} ms (--timeout-ms); it goes on: ${followUp}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, remainingMs)));
  }
}
