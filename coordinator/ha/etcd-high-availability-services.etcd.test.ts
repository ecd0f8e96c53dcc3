import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { ExternalSystemError, FencedError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/logging.ts';
import { requireEtcd } from '../../shared/testing/services.ts';
import { EtcdHighAvailabilityServices } from './etcd-high-availability-services.ts';
import { type HighAvailabilityTestCluster, highAvailabilityServicesContract, within } from './high-availability-services.contract.ts';
import { createHighAvailabilityServices } from './index.ts';

const LEASE_TTL_SECONDS = 2;
const logger = createLogger({ test: 'etcd-high-availability-services' });
const runId = `${process.pid}-${Date.now().toString(36)}`;
let namespaces = 0;

/** A namespace no other test or run uses, so runs against one etcd never collide. */
function uniqueNamespace(): string {
  return `/sluice-test/${runId}-${++namespaces}/`;
}

function rawClient(endpoints: string[]): Etcd3 {
  return new Etcd3({ hosts: endpoints.map((endpoint) => `http://${endpoint}`) });
}

async function etcdCluster(): Promise<HighAvailabilityTestCluster> {
  const endpoints = await requireEtcd();
  const namespace = uniqueNamespace();
  const raw = rawClient(endpoints);
  const participants: EtcdHighAvailabilityServices[] = [];
  return {
    async participant() {
      const services = await EtcdHighAvailabilityServices.create({ endpoints, namespace, leaseTtlSeconds: LEASE_TTL_SECONDS, logger });
      participants.push(services);
      return services;
    },
    async expireLease(leadership) {
      // What etcd does when a lease expires: revoke it, which deletes the election key.
      const keys = await raw.namespace(namespace).getAll().prefix('leader/').exec();
      const kv = keys.kvs.find((candidate) => Number(candidate.create_revision) === leadership.epoch);
      assert.ok(kv, `no election key with create revision ${leadership.epoch}`);
      await raw.leaseClient.leaseRevoke({ ID: kv.lease });
    },
    async close() {
      await Promise.all(participants.map((services) => services.close()));
      await raw.delete().prefix(namespace);
      raw.close();
    },
  };
}

describe('EtcdHighAvailabilityServices (real etcd)', () => {
  highAvailabilityServicesContract(etcdCluster);

  it('keeps its election and store keys under the namespace', async () => {
    const endpoints = await requireEtcd();
    const namespace = uniqueNamespace();
    const services = await createHighAvailabilityServices({ etcdEndpoints: endpoints, namespace, leaseTtlSeconds: LEASE_TTL_SECONDS, logger });
    const raw = rawClient(endpoints);
    try {
      assert.equal(services.kind, 'etcd');
      const leadership = await within(services.campaign({ id: 'a', address: 'a:1' }), 10_000, 'elected');
      await services.putFenced(leadership, 'checkpoints/latest', '7');
      const [storeKey, electionKey, ...others] = (await raw.getAll().prefix(namespace).exec()).kvs;
      assert.equal(others.length, 0);
      assert.equal(storeKey!.key.toString(), `${namespace}checkpoints/latest`);
      assert.match(electionKey!.key.toString(), new RegExp(`^${namespace}leader/[0-9a-f]+$`));
      assert.equal(Number(electionKey!.create_revision), leadership.epoch);
      assert.deepEqual(JSON.parse(electionKey!.value.toString()), { id: 'a', address: 'a:1' });
    } finally {
      await services.close();
      await raw.delete().prefix(namespace);
      raw.close();
    }
  });

  it('etcd refuses a fenced write once the election key is gone, before the leader has heard', async () => {
    const endpoints = await requireEtcd();
    const namespace = uniqueNamespace();
    const services = await EtcdHighAvailabilityServices.create({ endpoints, namespace, leaseTtlSeconds: LEASE_TTL_SECONDS, logger });
    const raw = rawClient(endpoints);
    try {
      const leadership = await within(services.campaign({ id: 'a', address: 'a:1' }), 10_000, 'elected');
      await services.putFenced(leadership, 'pointer', 'before');
      const [electionKey] = await raw.getAll().prefix(`${namespace}leader/`).keys();
      assert.ok(electionKey);
      // Deleted from another process while this one's event loop is blocked, and the write issued
      // in the same synchronous run: this process cannot have heard of the delete (no watch event,
      // no keepalive answer was handled), so what refuses the write is etcd's compare on the
      // election key's create revision.
      deleteKeyBlocking(endpoints[0]!, electionKey);
      const refused = await services.putFenced(leadership, 'pointer', 'after').then(() => assert.fail('wrote'), (error: unknown) => error);
      assert.ok(refused instanceof FencedError, `expected FencedError, got ${String(refused)}`);
      assert.match(refused.message, /etcd no longer has the election key/);
      assert.equal(await services.get('pointer'), 'before');
      // Lost either way: the watch sees the key gone, or, when the blocked loop ran past the
      // lease's local deadline first (a loaded machine), the deadline fires.
      assert.match(await within(leadership.lost, 10_000, 'lost'), /election key|lease not confirmed/);
    } finally {
      await services.close();
      await raw.delete().prefix(namespace);
      raw.close();
    }
  });

  it('create fails with an ExternalSystemError naming the endpoint when etcd does not answer', async () => {
    await assert.rejects(
      EtcdHighAvailabilityServices.create({ endpoints: ['127.0.0.1:1'], leaseTtlSeconds: 2, logger, requestTimeoutMs: 500 }),
      (error: unknown) => error instanceof ExternalSystemError && /127\.0\.0\.1:1/.test(error.message),
    );
  });

  describe('a leader paused past its lease TTL (a real process, SIGSTOP)', () => {
    const children: ChildProcess[] = [];
    after(() => {
      for (const child of children) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    });

    it('sees it lost leadership when it resumes, and its fenced write is refused', async () => {
      const endpoints = await requireEtcd();
      const namespace = uniqueNamespace();
      const key = 'checkpoints/latest';
      const fixture = fileURLToPath(new URL('./etcd-leader-process.fixture.ts', import.meta.url));
      const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fixture, endpoints.join(','), namespace, key, String(LEASE_TTL_SECONDS)],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      const output = followJsonLines(child);
      const services = await EtcdHighAvailabilityServices.create({ endpoints, namespace, leaseTtlSeconds: LEASE_TTL_SECONDS, logger });
      try {
        const elected = await output.waitFor((line) => line.event === 'elected', 30_000, 'the child to be elected');
        await output.waitFor((line) => line.event === 'write' && line.ok === true, 10_000, 'the child to write as leader');
        const standby = services.campaign({ id: 'standby', address: 'standby:1' }, AbortSignal.timeout(30_000));
        const childLease = await leaseOfElectionKey(endpoints, namespace, elected.epoch as number);

        assert.ok(process.kill(child.pid!, 'SIGSTOP'));
        const next = await within(standby, 20_000, 'the standby to be elected while the leader is paused');
        // Elected only once etcd expired the paused leader's lease (nothing revoked it: its process
        // is stopped). A lease never comes back, so one still alive now was alive at the election.
        const remainingTtlSeconds = await leaseTtlSeconds(endpoints, childLease);
        assert.equal(remainingTtlSeconds, -1, `the standby was elected while the paused leader's lease had ${remainingTtlSeconds} s to live`);
        assert.ok(next.epoch > (elected.epoch as number));
        await services.putFenced(next, key, 'new-leader');

        const linesBeforeResume = output.lines.length;
        assert.ok(process.kill(child.pid!, 'SIGCONT'));
        const refused = await output.waitFor(
          (line, index) => index >= linesBeforeResume && line.event === 'write' && line.ok === false,
          15_000,
          'the resumed child to report its refused write',
        );
        assert.equal(refused.error, 'FencedError', `refused with ${JSON.stringify(refused)}`);
        const lost = await output.waitFor((line) => line.event === 'lost', 15_000, 'the resumed child to report losing leadership');
        assert.equal(typeof lost.reason, 'string');
        await output.waitFor((line) => line.event === 'closed', 15_000, 'the child to close');
        assert.equal(await within(output.exited, 15_000, 'the child to exit'), 0);

        assert.equal(await services.get(key), 'new-leader');
        assert.equal((await services.leader())?.id, 'standby');
        await next.resign();
      } finally {
        await services.close();
        const raw = rawClient(endpoints);
        await raw.delete().prefix(namespace);
        raw.close();
      }
    });
  });
});

/** The lease of the election key created at revision `epoch` (the leadership of that epoch). */
async function leaseOfElectionKey(endpoints: string[], namespace: string, epoch: number): Promise<string> {
  const raw = rawClient(endpoints);
  try {
    const { kvs } = await raw.namespace(namespace).getAll().prefix('leader/').exec();
    const kv = kvs.find((candidate) => Number(candidate.create_revision) === epoch);
    assert.ok(kv, `no election key with create revision ${epoch}`);
    return kv.lease;
  } finally {
    raw.close();
  }
}

/** What etcd says is left of a lease, in seconds: -1 once it has expired or been revoked. */
async function leaseTtlSeconds(endpoints: string[], lease: string): Promise<number> {
  const raw = rawClient(endpoints);
  try {
    return Number((await raw.leaseClient.leaseTimeToLive({ ID: lease })).TTL);
  } finally {
    raw.close();
  }
}

/** Deletes `key` through etcd's JSON gateway from a child process, blocking this event loop until done. */
function deleteKeyBlocking(endpoint: string, key: string): void {
  const url = `http://${endpoint}/v3/kv/deleterange`;
  const body = JSON.stringify({ key: Buffer.from(key).toString('base64') });
  const script = `fetch(${JSON.stringify(url)}, { method: 'POST', body: ${JSON.stringify(body)} })
    .then(async (r) => { const t = await r.text(); if (!r.ok || !t.includes('"deleted":"1"')) { console.error(r.status, t); process.exit(1); } })`;
  execFileSync(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 10_000 });
}

interface JsonLines {
  readonly lines: Array<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  waitFor(
    predicate: (line: Record<string, unknown>, index: number) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Record<string, unknown>>;
}

/** Collects a child's JSON stdout lines; a timeout or an early exit names what was awaited and shows its stderr. */
function followJsonLines(child: ChildProcess): JsonLines {
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let stdout = '';
  let stderr = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    exitCode = code;
    resolve(code);
    for (const wake of waiters) wake();
  }));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-8000); });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (let newline = stdout.indexOf('\n'); newline >= 0; newline = stdout.indexOf('\n')) {
      const text = stdout.slice(0, newline).trim();
      stdout = stdout.slice(newline + 1);
      if (text.startsWith('{')) lines.push(JSON.parse(text) as Record<string, unknown>);
    }
    for (const wake of waiters) wake();
  });
  return {
    lines,
    exited,
    waitFor(predicate, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const index = lines.findIndex(predicate);
          if (index >= 0) finish(() => resolve(lines[index]!));
          else if (exitCode !== undefined) finish(() => reject(new Error(`the child exited (${exitCode}) before ${what}; output ${JSON.stringify(lines)}; stderr: ${stderr}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output ${JSON.stringify(lines)}; stderr: ${stderr}`))),
          timeoutMs,
        );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };
}
