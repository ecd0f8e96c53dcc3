// High-availability services: leader election and the fenced store the coordinator commits to.
// `createHighAvailabilityServices` picks etcd when endpoints are configured, else the embedded one.

import type { Logger } from '../../shared/logging.ts';
import { EmbeddedHighAvailabilityServices } from './embedded-high-availability-services.ts';
import { EtcdHighAvailabilityServices } from './etcd-high-availability-services.ts';
import type { HighAvailabilityServices } from './high-availability-services.ts';

export * from './high-availability-services.ts';
export { ConflictError, FencedError } from '../../shared/errors.ts';
export { EmbeddedHighAvailabilityServices, type EmbeddedHighAvailabilityServicesOptions } from './embedded-high-availability-services.ts';
export { EtcdHighAvailabilityServices, type EtcdHighAvailabilityServicesOptions } from './etcd-high-availability-services.ts';

export interface HighAvailabilityServicesOptions {
  /** etcd endpoints (`host:port`); none or empty: embedded, in memory. */
  readonly etcdEndpoints?: readonly string[];
  readonly leaseTtlSeconds: number;
  readonly logger: Logger;
  /** etcd key prefix; default `/sluice/`. */
  readonly namespace?: string;
}

export async function createHighAvailabilityServices(options: HighAvailabilityServicesOptions): Promise<HighAvailabilityServices> {
  const endpoints = options.etcdEndpoints ?? [];
  if (endpoints.length === 0) {
    options.logger.info('high availability: embedded (no etcd endpoints configured)');
    return new EmbeddedHighAvailabilityServices({ logger: options.logger });
  }
  return EtcdHighAvailabilityServices.create({
    endpoints,
    leaseTtlSeconds: options.leaseTtlSeconds,
    logger: options.logger,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
  });
}
