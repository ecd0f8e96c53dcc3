// For tests: a loopback HTTP proxy in front of kinesalite or dynalite that injects the failures
// those servers never produce (throttling, partially failed PutRecords, unprocessed
// BatchWriteItem items). A handler sees each AWS JSON call (its X-Amz-Target operation and body)
// and may answer it itself, forward a changed body, or change the real answer; calls are counted
// per operation. Everything else is forwarded as is.

import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface ProxiedCall {
  /** The operation, e.g. 'GetRecords', 'PutRecords', 'BatchWriteItem'. */
  readonly operation: string;
  readonly body: Record<string, unknown>;
  /** How many calls of this operation came before this one. */
  readonly index: number;
  /** Sends `body` (default: the call's own) to the real server and returns its answer. */
  forward(body?: unknown): Promise<ProxiedResponse>;
}

/** Returns the answer to give, or undefined to forward the call unchanged. */
export type FaultHandler = (call: ProxiedCall) => Promise<ProxiedResponse | undefined> | ProxiedResponse | undefined;

/** The error body AWS JSON services answer with, e.g. for a 400 ProvisionedThroughputExceededException. */
export function awsError(type: string, message: string, status = 400): ProxiedResponse {
  return { status, body: { __type: type, message } };
}

export class TestingAwsFaultProxy {
  readonly calls = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(targetUrl: string, handler: FaultHandler): Promise<TestingAwsFaultProxy> {
    const target = new URL(targetUrl);
    let proxy!: TestingAwsFaultProxy;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
        const index = proxy.calls.get(operation) ?? 0;
        proxy.calls.set(operation, index + 1);
        const send = (status: number, headers: Record<string, string>, body: Buffer) => {
          res.writeHead(status, { ...headers, 'content-length': String(body.length) });
          res.end(body);
        };
        const forwardRaw = (body: Buffer) => forwardTo(target, req.method ?? 'POST', req.url ?? '/', req.headers, body);
        let parsed: Record<string, unknown> = {};
        try {
          parsed = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
        } catch {
          // Not JSON: forwarded untouched below.
        }
        const call: ProxiedCall = {
          operation,
          body: parsed,
          index,
          forward: async (body?: unknown) => {
            const answer = await forwardRaw(body === undefined ? raw : Buffer.from(JSON.stringify(body)));
            return { status: answer.status, body: answer.body.length > 0 ? JSON.parse(answer.body.toString('utf8')) : {} };
          },
        };
        Promise.resolve()
          .then(() => handler(call))
          .then(async (answer) => {
            if (answer === undefined) {
              const real = await forwardRaw(raw);
              send(real.status, { 'content-type': real.headers['content-type'] ?? 'application/x-amz-json-1.1' }, real.body);
            } else {
              const contentType = req.headers['content-type'] ?? 'application/x-amz-json-1.1';
              send(answer.status, { 'content-type': String(contentType), 'x-amzn-requestid': `proxy-${operation}-${index}` }, Buffer.from(JSON.stringify(answer.body)));
            }
          })
          .catch((error: unknown) => send(500, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ __type: 'ProxyError', message: String(error) }))));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TestingAwsFaultProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  count(operation: string): number {
    return this.calls.get(operation) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function forwardTo(target: URL, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = { ...headers, host: target.host, 'content-length': String(body.length) };
    const req = request({ host: target.hostname, port: target.port, method, path, headers: outgoing, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
