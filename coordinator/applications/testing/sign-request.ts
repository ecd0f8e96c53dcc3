// Signs requests the way the AWS SDK does, with its own signer (@smithy/signature-v4, a
// dependency of the SDK), so tests check our verifier against the real thing rather than
// against itself. For tests only.

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest, SourceData } from '@smithy/types';
import type { SignedRequest } from '../sigv4-verifier.ts';

/** The SDK's hash interface over node:crypto: an HMAC when given a secret, else a plain SHA-256. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

export interface TestCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface RequestToSign {
  readonly method?: string;
  /** As it goes on the wire: percent-encoded once. */
  readonly path?: string;
  /** Decoded names and values; the wire form encodes them with encodeURIComponent. */
  readonly query?: Record<string, string | string[]>;
  readonly host: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface SignOptions {
  readonly credentials: TestCredentials;
  readonly signingDate: Date;
  readonly region?: string;
  readonly service?: string;
  /** Whether the signer adds x-amz-content-sha256, as it does unless told not to; default true. */
  readonly applyChecksum?: boolean;
}

/** The request signed by the SDK's signer, as our verifier receives it. */
export async function signWithSdkSigner(request: RequestToSign, options: SignOptions): Promise<SignedRequest> {
  const signer = new SignatureV4({
    credentials: options.credentials,
    region: options.region ?? 'us-east-1',
    service: options.service ?? 'kinesisanalytics',
    sha256: NodeSha256,
    applyChecksum: options.applyChecksum ?? true,
  });
  const path = request.path ?? '/';
  const query = request.query ?? {};
  const unsigned = {
    method: request.method ?? 'POST',
    protocol: 'http:',
    hostname: request.host,
    path,
    query,
    headers: { host: request.host, ...(request.headers ?? {}) },
    body: request.body ?? '',
  } as HttpRequest;
  const signed = await signer.sign(unsigned, { signingDate: options.signingDate });
  const queryText = Object.entries(query)
    .flatMap(([name, values]) => (Array.isArray(values) ? values : [values]).map((value) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`))
    .join('&');
  return {
    method: signed.method,
    url: queryText === '' ? path : `${path}?${queryText}`,
    headers: Object.entries(signed.headers),
    body: Buffer.from(request.body ?? '', 'utf8'),
  };
}

/** `request` with the value of header `name` replaced (or added). */
export function withHeader(request: SignedRequest, name: string, value: string): SignedRequest {
  const others = request.headers.filter(([header]) => header.toLowerCase() !== name.toLowerCase());
  return { ...request, headers: [...others, [name, value]] };
}

/** `request` without header `name`. */
export function withoutHeader(request: SignedRequest, name: string): SignedRequest {
  return { ...request, headers: request.headers.filter(([header]) => header.toLowerCase() !== name.toLowerCase()) };
}

export function headerOf(request: SignedRequest, name: string): string | undefined {
  return request.headers.find(([header]) => header.toLowerCase() === name.toLowerCase())?.[1];
}
