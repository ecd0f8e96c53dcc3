// A coordinator stand-in for etcd-high-availability-services.etcd.test.ts, run as its own OS
// process so the test can pause it (SIGSTOP) past its lease TTL and resume it (SIGCONT). It
// campaigns, then writes `key` with putFenced every 100 ms until a write is refused, and prints
// one JSON line per event on stdout: elected, write (ok or the error's name), lost, closed.
//
//   node --import tsx coordinator/ha/etcd-leader-process.fixture.ts ENDPOINTS NAMESPACE KEY TTL_SECONDS

import { type Cancellable, SystemClock, sleep } from '../../shared/clock.ts';
import { createLogger } from '../../shared/logging.ts';
import { EtcdHighAvailabilityServices } from './etcd-high-availability-services.ts';

const WRITE_INTERVAL_MS = 100;
const MAX_WRITES = 600; // a minute at most, whatever happens to the test
const CAMPAIGN_TIMEOUT_MS = 20_000;

function print(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...event, atMs: Date.now() })}\n`);
}

const [endpoints, namespace, key, ttlSeconds] = process.argv.slice(2);
if (!endpoints || !namespace || !key || !ttlSeconds) {
  console.error('usage: etcd-leader-process.fixture.ts ENDPOINTS NAMESPACE KEY TTL_SECONDS');
  process.exit(2);
}

const services = await EtcdHighAvailabilityServices.create({
  endpoints: endpoints.split(','),
  namespace,
  leaseTtlSeconds: Number(ttlSeconds),
  logger: createLogger({ process: 'etcd-leader-process.fixture' }),
});
const leadership = await services.campaign({ id: 'child', address: `pid:${process.pid}` }, AbortSignal.timeout(CAMPAIGN_TIMEOUT_MS));
print({ event: 'elected', epoch: leadership.epoch });
void leadership.lost.then((reason) => print({ event: 'lost', reason }));

let refused = false;
for (let i = 0; i < MAX_WRITES && !refused; i++) {
  await sleep(SystemClock.INSTANCE, WRITE_INTERVAL_MS);
  // Written whatever isLeader() says: the store, not the writer's belief, must stop an old leader.
  const isLeader = leadership.isLeader();
  try {
    await services.putFenced(leadership, key, `child-${i}`);
    print({ event: 'write', i, ok: true, isLeader });
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    print({ event: 'write', i, ok: false, isLeader, error: name, message });
    refused = true;
  }
}
if (!refused) print({ event: 'gave-up', writes: MAX_WRITES });
let giveUp: Cancellable | undefined;
await Promise.race([leadership.lost, new Promise<void>((resolve) => { giveUp = SystemClock.INSTANCE.schedule(10_000, resolve); })]);
giveUp?.cancel();
await services.close();
print({ event: 'closed' });
