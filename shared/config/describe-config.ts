// The effective configuration as a plain object for the start-up log line: the cluster token
// redacted, credentials in endpoint URLs removed.

import type { CoordinatorConfig } from './coordinator-config.ts';
import type { WorkerConfig } from './worker-config.ts';

export const REDACTED = '***';

const withoutCredentials = (endpoint: string): string => endpoint.replace(/^(\w+:\/\/)[^@/]*@/, `$1${REDACTED}@`);

export function describeConfig(config: CoordinatorConfig | WorkerConfig): Record<string, unknown> {
  const description: Record<string, unknown> = { ...config };
  description.clusterToken = config.clusterToken === undefined ? null : REDACTED;
  if ('etcdEndpoints' in config) description.etcdEndpoints = config.etcdEndpoints?.map(withoutCredentials) ?? 'embedded';
  return description;
}
