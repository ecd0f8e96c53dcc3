// Where the Kinesis server of the `*.kinesis.test.ts` tests is (kinesalite, started by
// `scripts/services.sh start kinesis`), and a check that it answers a real API call. A missing
// server fails the test with the command that starts it: never a skip.

import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const DEFAULT_KINESIS_ENDPOINT = 'http://127.0.0.1:14567';

/** Any credentials do for kinesalite; the SDK insists on some. */
export const TEST_AWS_CREDENTIALS = { accessKeyId: 'sluice-test', secretAccessKey: 'sluice-test' } as const;
export const TEST_AWS_REGION = 'us-east-1';

/** SLUICE_KINESIS_ENDPOINT, default http://127.0.0.1:14567. */
export function kinesisEndpoint(): string {
  return process.env.SLUICE_KINESIS_ENDPOINT || DEFAULT_KINESIS_ENDPOINT;
}

/** A client for test set-up (creating streams, resharding); HTTP/1.1 as kinesalite needs. */
export function testKinesisClient(endpoint = kinesisEndpoint()): KinesisClient {
  return new KinesisClient({ endpoint, region: TEST_AWS_REGION, credentials: TEST_AWS_CREDENTIALS, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
}

/** The endpoint, once ListStreams answers there; an Error saying how to start kinesalite otherwise. */
export async function requireKinesis(): Promise<string> {
  const endpoint = kinesisEndpoint();
  const client = testKinesisClient(endpoint);
  try {
    await client.send(new ListStreamsCommand({}), { abortSignal: AbortSignal.timeout(3000) });
    return endpoint;
  } catch (error) {
    throw new Error(
      `Kinesis is missing: ListStreams at ${endpoint} failed (SLUICE_KINESIS_ENDPOINT; ${error instanceof Error ? error.message : String(error)}). ` +
        'Start it with `scripts/services.sh start kinesis` (or run `npm test`, which starts it).',
    );
  } finally {
    client.destroy();
  }
}
