// CEP on a cluster of real processes (issue 20, item 8): cep-bid-pairs-app matches every two bids
// of an auction in a row, with its partial matches and element queue in LevelDB keyed state, and
// is rescaled live from 1 to 2 subtasks while the matches wait for the end of input. The key
// groups that move carry their CEP state to the new subtask; the committed output is exactly each
// auction's bids but its first, computed from the Nexmark generator (nothing lost or doubled).

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { NexmarkGenerator } from '../../shared/nexmark/generator.ts';
import { waitFor } from '../../shared/testing/wait-for.ts';
import type { SecondBid } from './testing/cep-bid-pairs-app.ts';
import { ProcessCluster } from './testing/process-cluster.ts';

const CEP_APP = fileURLToPath(new URL('./testing/cep-bid-pairs-app.ts', import.meta.url));
const EVENTS = 40_000;
const RATE = 2_000; // twenty seconds of input: the rescale happens well before it ends
let dir: string;
let cluster: ProcessCluster | undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-cep-'));
});

after(async () => {
  await cluster?.stop();
  if (!process.env.SLUICE_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

/** `auction/dateTime` → how often it must be committed: every bid of an auction but its earliest. */
function expectedSecondBids(events: number): Map<string, number> {
  const generator = new NexmarkGenerator({ maxEvents: events });
  const times = new Map<number, number[]>();
  while (generator.hasNext()) {
    const event = generator.next();
    if (event.kind !== 'bid') continue;
    let list = times.get(event.auction);
    if (!list) times.set(event.auction, (list = []));
    list.push(event.dateTime);
  }
  const expected = new Map<string, number>();
  for (const [auction, list] of times) {
    // Bids of one auction at the same millisecond may match in either order: the multiset of
    // second bids' times is the same either way.
    list.sort((a, b) => a - b);
    for (const dateTime of list.slice(1)) expected.set(`${auction}/${dateTime}`, (expected.get(`${auction}/${dateTime}`) ?? 0) + 1);
  }
  return expected;
}

function committed(directory: string): Map<string, number> {
  const seen = new Map<string, number>();
  for (const name of readdirSync(directory)) {
    if (!/^part-\d+-\d+\.jsonl$/.test(name)) continue;
    for (const line of readFileSync(join(directory, name), 'utf8').split('\n')) {
      if (line === '') continue;
      const { auction, dateTime } = JSON.parse(line) as SecondBid;
      seen.set(`${auction}/${dateTime}`, (seen.get(`${auction}/${dateTime}`) ?? 0) + 1);
    }
  }
  return seen;
}

describe('CEP on a cluster', { timeout: 240_000 }, () => {
  it('rescaled live mid-run, the partial matches move with their key groups: every match once', async () => {
    cluster = await ProcessCluster.start({ dir, coordinators: 1, workers: 2, slotsPerWorker: 2, checkpointIntervalMs: 500, workerArgs: ['--state-backend', 'leveldb'] });
    const output = join(dir, 'output');
    const { jobId } = await cluster.rest('POST', '/v1/jobs', { application: CEP_APP, parallelism: 1, properties: { test: { output, events: String(EVENTS), rate: String(RATE) } } });
    await waitFor('the job to run and complete a checkpoint with bids in its CEP state', 60_000, async () => {
      const job = await cluster!.job(jobId);
      if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
      const cep = job.subtasks.find((s: { taskName: string }) => s.taskName.includes('CepOperator'));
      return job.state === 'running' && job.checkpoints.completed >= 1 && cep?.recordsIn > 1_000 ? job : undefined;
    });
    const rescale = await cluster.rest('POST', `/v1/jobs/${jobId}/rescale`, { parallelism: 2 });
    assert.deepEqual([rescale.from, rescale.to, rescale.mode], [1, 2, 'live'], JSON.stringify(rescale));
    assert.ok(rescale.keyGroupsMoved > 0, 'half the key groups, with their CEP state, move to the new subtask');

    let progress = '';
    const finished = await waitFor(() => `the job to finish (${progress})`, 180_000, async () => {
      progress = await cluster!.jobProgress(jobId);
      const job = await cluster!.job(jobId);
      if (job.state === 'failed') throw new Error(`job failed: ${job.failure}`);
      return job.state === 'finished' ? job : undefined;
    }, 200);
    assert.equal(finished.numRestarts, 0);
    assert.equal(finished.parallelism, 2);

    const expected = expectedSecondBids(EVENTS);
    const seen = committed(output);
    let lost = 0;
    let doubled = 0;
    let expectedRecords = 0;
    for (const [key, times] of expected) {
      expectedRecords += times;
      const got = seen.get(key) ?? 0;
      lost += Math.max(0, times - got);
      doubled += Math.max(0, got - times);
    }
    for (const [key, got] of seen) if (!expected.has(key)) doubled += got;
    assert.ok(expectedRecords > 10_000, `enough matches to mean something: ${expectedRecords}`);
    assert.deepEqual({ lost, doubled }, { lost: 0, doubled: 0 }, `${expectedRecords} matches expected`);
  });
});
