// The HTTP endpoint Prometheus scrapes: `GET /metrics` in the text exposition format, 404 for
// anything else. Every process (coordinator, worker, embedded) starts one on its metrics port.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../logging.ts';
import { errorChainMessage } from '../errors.ts';

export interface MetricsServerOptions {
  readonly host: string;
  /** 0 picks a free port; `port` of the result says which. */
  readonly port: number;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface MetricsServer {
  /** `host:port` it listens on (IPv6 hosts in brackets). */
  readonly address: string;
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, logger } = options;
  const server = createServer((request, response) => {
    handle(request, response).catch((error) => {
      logger.warn('metrics request failed', { error: errorChainMessage(error) });
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('metrics collection failed\n');
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('not found: metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('method not allowed\n');
      return;
    }
    const body = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error('metrics server error', { error: errorChainMessage(error) }));

  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const address = `${host}:${bound.port}`;
  logger.info('metrics server listening', { address, path: '/metrics' });
  let closing: Promise<void> | undefined;
  return {
    address,
    port: bound.port,
    url: `http://${address}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // A scraper's keep-alive connection would hold close() open until it times out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * A registry with the process's own metrics (CPU, memory, event loop lag, GC, handles), named
 * `sluice_process_…`/`sluice_nodejs_…`, and `defaultLabels` on every series it holds.
 */
export function createProcessRegistry(defaultLabels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  if (Object.keys(defaultLabels).length > 0) registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry, prefix: 'sluice_' });
  return registry;
}
