// S3's rules for completing a multipart upload, shared by the in-process stores so that an upload
// they accept is one S3 accepts too: parts listed in ascending order, each uploaded with the ETag
// given, every part but the last at least 5 MiB.

import { createHash } from 'node:crypto';
import type { UploadedPart } from './object-store.ts';
import { InvalidMultipartUploadError } from './errors.ts';

/** S3's minimum size of every part but the last. */
export const MIN_MULTIPART_PART_BYTES = 5 * 1024 * 1024;
/** S3's highest part number. */
export const MAX_MULTIPART_PART_NUMBER = 10_000;

/** The ETag S3 gives a part: the quoted MD5 of its bytes. */
export function partEtag(bytes: Uint8Array): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

export function isValidPartNumber(partNumber: number): boolean {
  return Number.isInteger(partNumber) && partNumber >= 1 && partNumber <= MAX_MULTIPART_PART_NUMBER;
}

export interface StoredPart {
  readonly size: number;
  readonly etag: string;
}

/** Throws InvalidMultipartUploadError unless `parts` may complete an upload holding `stored`. */
export function checkPartsForCompletion(
  location: string,
  key: string,
  parts: readonly UploadedPart[],
  stored: ReadonlyMap<number, StoredPart>,
  minPartBytes: number,
): void {
  if (parts.length === 0) throw new InvalidMultipartUploadError(location, key, 'no parts given');
  parts.forEach((part, index) => {
    const uploaded = stored.get(part.partNumber);
    if (index > 0 && part.partNumber <= parts[index - 1]!.partNumber) {
      throw new InvalidMultipartUploadError(location, key, `part numbers must ascend (part ${part.partNumber} after ${parts[index - 1]!.partNumber})`);
    }
    if (uploaded === undefined) throw new InvalidMultipartUploadError(location, key, `part ${part.partNumber} was not uploaded`);
    if (uploaded.etag !== part.etag) {
      throw new InvalidMultipartUploadError(location, key, `part ${part.partNumber} has ETag ${uploaded.etag}, not ${part.etag}`);
    }
    if (index < parts.length - 1 && uploaded.size < minPartBytes) {
      throw new InvalidMultipartUploadError(location, key, `part ${part.partNumber} is ${uploaded.size} bytes; every part but the last must be at least ${minPartBytes}`);
    }
  });
}
