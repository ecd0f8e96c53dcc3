// The REST client's retries, against a local HTTP server playing a coordinator whose leadership
// changes under a request: what is sent again, what is not, and that a standby's pointer is followed.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { clientCommand, restCall } from './cluster-commands.ts';

type Handler = (req: IncomingMessage, body: string) => { status: number; json: unknown };

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

/** A server answering with `handler`, counting the requests it got. */
async function coordinator(handler: Handler): Promise<{ url: string; address: string; requests: Array<{ method: string; path: string; body: string }> }> {
  const requests: Array<{ method: string; path: string; body: string }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests.push({ method: req.method!, path: req.url!, body });
      const { status, json } = handler(req, body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `http://${address}`, address, requests };
}

const lostLeadership = { status: 503, json: { error: "write to 'job/x' refused: leadership epoch 3 no longer holds", type: 'FencedError', retriable: true } };

describe('restCall', () => {
  it('sends a submission with an idempotency key again after the leader lost its leadership mid-request', async () => {
    let calls = 0;
    const c = await coordinator(() => (++calls <= 2 ? lostLeadership : { status: 201, json: { jobId: 'j1' } }));
    const answer = await restCall({ coordinator: c.url, token: undefined }, 'POST', '/v1/jobs', { application: '/app.ts', idempotencyKey: 'k-1' });
    assert.deepEqual(answer, { jobId: 'j1' });
    assert.equal(c.requests.length, 3);
    assert.ok(c.requests.every((r) => JSON.parse(r.body).idempotencyKey === 'k-1'), 'every try carries the same key');
  });

  it('does not send again a request that may have been half done (a stop, a submission without a key)', async () => {
    const c = await coordinator(() => lostLeadership);
    await assert.rejects(restCall({ coordinator: c.url, token: undefined }, 'POST', '/v1/jobs/j1/stop', { snapshot: true }), (e: Error & { status?: number; type?: string }) => {
      assert.equal(e.status, 503);
      assert.equal(e.type, 'FencedError');
      return true;
    });
    await assert.rejects(restCall({ coordinator: c.url, token: undefined }, 'POST', '/v1/jobs', { application: '/app.ts' }), /503/);
    assert.equal(c.requests.length, 2, 'one try each');
  });

  it("follows a standby's pointer to the leader, and retries any request a standby refused while no leader is known", async () => {
    const leader = await coordinator(() => ({ status: 200, json: { stopped: true } }));
    let asked = 0;
    const standby = await coordinator(() => (++asked === 1 ? { status: 503, json: { error: 'no leader yet', type: 'NotLeaderError' } } : { status: 503, json: { error: 'not the leader', type: 'NotLeaderError', leader: leader.address } }));
    const answer = await restCall({ coordinator: standby.url, token: undefined }, 'POST', '/v1/jobs/j1/stop', {});
    assert.deepEqual(answer, { stopped: true });
    assert.equal(standby.requests.length, 2);
    assert.equal(leader.requests.length, 1);
  });

  it('gives up when the retry time is over, with the last answer', async () => {
    const c = await coordinator(() => lostLeadership);
    await assert.rejects(restCall({ coordinator: c.url, token: undefined, retryForMs: 0 }, 'GET', '/v1/jobs'), /503 write to 'job\/x' refused/);
    assert.equal(c.requests.length, 1);
  });
});

describe('restCall to a coordinator that is not running', () => {
  // Without the short retry for refused connections this call would retry for ten minutes, far
  // past the test's timeout.
  it('says so after a short retry, not after the whole retry time', { timeout: 20_000 }, async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve)); // nothing listens on the port now
    await assert.rejects(restCall({ coordinator: `http://127.0.0.1:${port}`, token: undefined, retryForMs: 600_000 }, 'GET', '/v1/jobs'), /cannot reach the coordinator .*is it running\?/);
  });
});

describe('sluice submit', () => {
  it('sends an S3 code location as it is, and a local path made absolute', async () => {
    const c = await coordinator(() => ({ status: 201, json: { jobId: 'j1' } }));
    const quiet = { SLUICE_COORDINATOR_URL: c.url, SLUICE_CLUSTER_TOKEN: 'submit-test-token-0123456789' };
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      assert.equal(await clientCommand('submit', ['s3://apps/orders.zip?versionId=v7'], quiet), 0);
      assert.equal(await clientCommand('submit', ['examples/hot-items.ts'], quiet), 0);
    } finally {
      process.stdout.write = write;
    }
    const applications = c.requests.map((r) => (JSON.parse(r.body) as { application: string }).application);
    assert.deepEqual(applications, ['s3://apps/orders.zip?versionId=v7', `${process.cwd()}/examples/hot-items.ts`]);
  });
});
