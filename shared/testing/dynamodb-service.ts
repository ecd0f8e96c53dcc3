// Where the DynamoDB server of the `*.dynamodb.test.ts` tests is (dynalite, started by
// `scripts/services.sh start dynamodb`), and a check that it answers a real API call. A missing
// server fails the test with the command that starts it: never a skip.

import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { TEST_AWS_CREDENTIALS, TEST_AWS_REGION } from './kinesis-service.ts';

const DEFAULT_DYNAMODB_ENDPOINT = 'http://127.0.0.1:14568';

/** SLUICE_DYNAMODB_ENDPOINT, default http://127.0.0.1:14568. */
export function dynamoDbEndpoint(): string {
  return process.env.SLUICE_DYNAMODB_ENDPOINT || DEFAULT_DYNAMODB_ENDPOINT;
}

/** A client for test set-up (creating tables, reading items back). */
export function testDynamoDbClient(endpoint = dynamoDbEndpoint()): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: TEST_AWS_REGION, credentials: TEST_AWS_CREDENTIALS, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
}

/** The endpoint, once ListTables answers there; an Error saying how to start dynalite otherwise. */
export async function requireDynamoDb(): Promise<string> {
  const endpoint = dynamoDbEndpoint();
  const client = testDynamoDbClient(endpoint);
  try {
    await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(3000) });
    return endpoint;
  } catch (error) {
    throw new Error(
      `DynamoDB is missing: ListTables at ${endpoint} failed (SLUICE_DYNAMODB_ENDPOINT; ${error instanceof Error ? error.message : String(error)}). ` +
        'Start it with `scripts/services.sh start dynamodb` (or run `npm test`, which starts it).',
    );
  } finally {
    client.destroy();
  }
}
