// The applications API as a coordinator serves it on its REST port: requests are verified and
// answered by the leader's ApplicationService. A standby forwards them, untouched (the signature
// covers the Host header and the body, so they verify at the leader as sent), to the leader's
// REST address; with no leader known the answer is ServiceUnavailableException, which the AWS
// SDK retries.

import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Clock } from '../../shared/clock.ts';
import { errorChainMessage } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logging.ts';
import type { AccessKeyStore } from './access-keys.ts';
import { createKinesisAnalyticsHandler, type KinesisAnalyticsOperationHandlers, type RequestListener } from './api-handler.ts';
import type { ApplicationService } from './application-service.ts';
import { ServiceUnavailableException } from './kinesis-analytics-errors.ts';

export interface ApplicationsApiOptions {
  readonly keys: AccessKeyStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly region: string;
  /** The leader's service; undefined on a standby. */
  readonly service: () => ApplicationService | undefined;
  /** The leader's REST address (host:port), if one leads and it is not this coordinator. */
  readonly leaderRestAddress: () => Promise<string | undefined>;
}

export function createApplicationsApiListener(options: ApplicationsApiOptions): RequestListener {
  const notLeading = async (): Promise<never> => {
    throw new ServiceUnavailableException('no coordinator leads the cluster at the moment; retry');
  };
  const operations = new Proxy({} as KinesisAnalyticsOperationHandlers, {
    get: (_, operation) => {
      const service = options.service();
      return service ? (service.handlers as Record<string | symbol, unknown>)[operation] : notLeading;
    },
  });
  const handler = createKinesisAnalyticsHandler({ keys: options.keys, clock: options.clock, logger: options.logger, region: options.region, operations });
  return (req, res) => {
    if (options.service()) return handler(req, res);
    options
      .leaderRestAddress()
      .then((leader) => (leader === undefined ? handler(req, res) : forward(req, res, leader)))
      .catch((error: unknown) => {
        options.logger.warn('forwarding an applications API request to the leader failed', { error: errorChainMessage(error) });
        if (res.headersSent) return res.destroy();
        const message = `the leader did not answer (${errorChainMessage(error)}); retry`;
        res.writeHead(503, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-ErrorType': 'ServiceUnavailableException' });
        res.end(JSON.stringify({ __type: 'ServiceUnavailableException', message }));
      });
  };
}

/** Sends the request as it came to `address` and the answer back as it comes. */
function forward(req: IncomingMessage, res: ServerResponse, address: string): Promise<void> {
  const [host, port] = splitAddress(address);
  return new Promise<void>((resolve, reject) => {
    const upstream = httpRequest({ host, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', reject);
    });
    upstream.on('error', reject);
    req.pipe(upstream);
  });
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at).replace(/^\[|\]$/g, ''), Number(address.slice(at + 1))];
}
