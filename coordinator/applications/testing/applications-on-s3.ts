// What the applications tests on a real cluster share: keyed-count-s3-app packaged and uploaded
// with `sluice package`, and the {auction, n} records it committed under an S3 prefix.

import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { packageCommand } from '../../../cli/package-command.ts';
import { s3TestClient, type S3TestService } from '../../../shared/testing/s3-service.ts';

export const KEYED_COUNT_S3_APP = fileURLToPath(new URL('./keyed-count-s3-app.ts', import.meta.url));

/** Packages keyed-count-s3-app into `dir` and uploads it to s3://bucket/key; answers the object's version. */
export async function uploadKeyedCountApp(service: S3TestService, bucket: string, key: string, dir: string): Promise<string> {
  const result = await packageCommand(
    { application: KEYED_COUNT_S3_APP, output: join(dir, 'counts.zip'), upload: { bucket, key }, s3Endpoint: service.endpoint, s3Region: service.region },
    { out: new PassThrough(), err: new PassThrough() },
  );
  const versionId = result.upload?.versionId;
  if (versionId === undefined) throw new Error(`s3://${bucket} is not versioned: the upload has no version id`);
  return versionId;
}

/** Every {auction, n} committed in part files under `prefix`. */
export async function committedCounts(service: S3TestService, bucket: string, prefix: string): Promise<Array<{ auction: number; n: number }>> {
  const client = s3TestClient(service, 3);
  const records: Array<{ auction: number; n: number }> = [];
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (!/\/part-[^/]+$/.test(object.Key!)) continue;
        const text = await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }))).Body!.transformToString();
        for (const line of text.split('\n')) if (line !== '') records.push(JSON.parse(line) as { auction: number; n: number });
      }
      token = page.NextContinuationToken;
    } while (token);
  } finally {
    client.destroy();
  }
  return records;
}
