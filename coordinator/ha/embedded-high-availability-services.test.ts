import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InMemoryLogger } from '../../shared/logging.ts';
import { EmbeddedHighAvailabilityServices } from './embedded-high-availability-services.ts';
import { highAvailabilityServicesContract } from './high-availability-services.contract.ts';
import { createHighAvailabilityServices } from './index.ts';

describe('EmbeddedHighAvailabilityServices', () => {
  highAvailabilityServicesContract(async () => {
    // One process: every participant is the same instance.
    const services = new EmbeddedHighAvailabilityServices({ logger: new InMemoryLogger() });
    return {
      participant: async () => services,
      expireLease: async (leadership) => {
        assert.equal((await services.leader())?.epoch, leadership.epoch, 'only the current leadership can expire');
        services.revokeLeadership('lease expired (simulated)');
      },
      close: () => services.close(),
    };
  });

  it('elects waiting candidates in the order they campaigned', async () => {
    const services = new EmbeddedHighAvailabilityServices();
    const first = await services.campaign({ id: 'first', address: 'a' });
    const second = services.campaign({ id: 'second', address: 'b' });
    const third = services.campaign({ id: 'third', address: 'c' });
    await first.resign();
    assert.equal((await second).info.id, 'second');
    services.revokeLeadership();
    assert.equal((await third).info.id, 'third');
    await services.close();
  });

  it('closing rejects waiting campaigns', async () => {
    const services = new EmbeddedHighAvailabilityServices();
    await services.campaign({ id: 'first', address: 'a' });
    const waiting = services.campaign({ id: 'second', address: 'b' });
    await services.close();
    await assert.rejects(waiting, /closed while campaigning/);
  });

  it('createHighAvailabilityServices is embedded without etcd endpoints', async () => {
    const services = await createHighAvailabilityServices({ etcdEndpoints: [], leaseTtlSeconds: 2, logger: new InMemoryLogger() });
    assert.equal(services.kind, 'embedded');
    await services.close();
  });
});
