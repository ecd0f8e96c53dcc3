// The S3 archive reader of application code (on the SLUICE_S3_* settings, as a worker's), counting
// the objects it reads: tests show a cached version is not read again.

import { S3ApplicationArchiveReader, type ApplicationArchiveReader, type S3CodeLocation } from '../application-code/index.ts';
import { s3ServiceEnv, type S3TestService } from './s3-service.ts';

export class CountingArchiveReader implements ApplicationArchiveReader {
  reads = 0;
  private readonly s3: S3ApplicationArchiveReader;

  constructor(service: S3TestService) {
    this.s3 = new S3ApplicationArchiveReader({ env: s3ServiceEnv(service) });
  }

  read(location: S3CodeLocation): Promise<Uint8Array> {
    this.reads++;
    return this.s3.read(location);
  }

  close(): Promise<void> {
    return this.s3.close();
  }
}
