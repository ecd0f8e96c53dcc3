// Verifies AWS Signature Version 4 on an incoming request, as AWS does for a non-S3 service: the
// caller signed a canonical form of the request (method, normalised path, sorted query, the
// headers it lists, the SHA-256 of the body) under a key derived from its secret, the date, the
// region and the service; we rebuild that form from what arrived, derive the same key from the
// secret we hold for the access key id, and compare in constant time. The body hash is always
// computed here, so a changed body cannot pass with the original hash in a header. A signature
// dated more than five minutes from our clock is refused with AWS's "Signature expired" message,
// which is what makes the SDK correct its clock from our `Date` header and retry.
// Only the Authorization header form is accepted, not presigned URLs.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import {
  IncompleteSignatureException,
  InvalidSignatureException,
  MissingAuthenticationTokenException,
  UnrecognizedClientException,
} from './kinesis-analytics-errors.ts';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** A request as it arrived, before anything interpreted it. */
export interface SignedRequest {
  readonly method: string;
  /** The request target as sent: path and query, still percent-encoded. */
  readonly url: string;
  /** Header name and value pairs as received, repeated names kept apart (node's `rawHeaders`). */
  readonly headers: readonly (readonly [name: string, value: string])[];
  readonly body: Uint8Array;
}

export interface SigningSecret {
  readonly secretAccessKey: string;
  /** When set, the request must carry it in `x-amz-security-token`. */
  readonly sessionToken?: string;
}

export interface SigV4VerifierOptions<K extends SigningSecret> {
  /** The signing name of the service in the credential scope: `kinesisanalytics`. */
  readonly service: string;
  readonly clock: Clock;
  /** The key of an access key id, or undefined when there is none. */
  readonly lookup: (accessKeyId: string) => Promise<K | undefined>;
  /** When set, the credential scope must name this region; otherwise any region the caller signed for. */
  readonly region?: string;
  /** Default 5 minutes, as AWS. */
  readonly maxClockSkewMs?: number;
}

export interface VerifiedRequest<K> {
  readonly accessKeyId: string;
  readonly key: K;
  readonly region: string;
  readonly signedAtMs: number;
}

export class SigV4Verifier<K extends SigningSecret> {
  private readonly maxClockSkewMs: number;

  constructor(private readonly options: SigV4VerifierOptions<K>) {
    this.maxClockSkewMs = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  }

  /** The caller's key if the signature holds; otherwise throws the error AWS would answer with. */
  async verify(request: SignedRequest): Promise<VerifiedRequest<K>> {
    const authorizations = headerValues(request.headers, 'authorization');
    if (authorizations.length === 0) {
      if (/[?&]X-Amz-Signature=/i.test(request.url)) {
        throw new IncompleteSignatureException('Presigned URLs are not supported: sign the Authorization header with AWS Signature Version 4');
      }
      throw new MissingAuthenticationTokenException('Request is missing Authentication Token: sign it with AWS Signature Version 4 (Authorization header)');
    }
    if (authorizations.length > 1) throw new IncompleteSignatureException('The request carries more than one Authorization header');
    const authorization = parseAuthorization(authorizations[0]!);
    const { scope } = authorization;

    if (scope.service !== this.options.service) {
      throw new InvalidSignatureException(`Credential should be scoped to correct service: '${this.options.service}', not '${scope.service}'`);
    }
    if (scope.terminator !== 'aws4_request') throw new InvalidSignatureException(`Credential should be scoped with a valid terminator: 'aws4_request', not '${scope.terminator}'`);
    if (this.options.region !== undefined && scope.region !== this.options.region) {
      throw new InvalidSignatureException(`Credential should be scoped to a valid region: '${this.options.region}', not '${scope.region}'`);
    }
    if (!authorization.signedHeaders.includes('host')) throw new IncompleteSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization");

    const amzDate = signingDateOf(request.headers, authorization.signedHeaders);
    if (scope.date !== amzDate.text.slice(0, 8)) {
      throw new InvalidSignatureException(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scope.date}' != '${amzDate.text.slice(0, 8)}', from '${amzDate.text}'`,
      );
    }
    this.checkClockSkew(amzDate);

    const key = await this.options.lookup(scope.accessKeyId);
    if (key === undefined) {
      throw new UnrecognizedClientException(`The security token included in the request is invalid: access key '${scope.accessKeyId}' is not known to this service`);
    }
    if (key.sessionToken !== undefined) {
      const tokens = headerValues(request.headers, 'x-amz-security-token');
      if (tokens.length !== 1 || !digestsEqual(tokens[0]!, key.sessionToken)) {
        throw new UnrecognizedClientException(
          `The security token included in the request is invalid: access key '${scope.accessKeyId}' needs its session token in x-amz-security-token`,
        );
      }
    }

    const payloadHash = sha256Hex(request.body);
    const claimedHashes = headerValues(request.headers, 'x-amz-content-sha256');
    if (claimedHashes.length > 0 && (claimedHashes.length > 1 || claimedHashes[0]!.trim().toLowerCase() !== payloadHash)) {
      throw new InvalidSignatureException("The provided 'x-amz-content-sha256' header does not match what was computed: it must be the hex SHA-256 of the body");
    }

    const canonical = canonicalRequest({
      method: request.method,
      url: request.url,
      headers: request.headers,
      signedHeaders: authorization.signedHeaders,
      payloadHash,
    });
    const toSign = stringToSign(amzDate.text, scopeText(scope), canonical);
    const expected = createHmac('sha256', signingKey(key.secretAccessKey, scope.date, scope.region, scope.service)).update(toSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(authorization.signature, 'hex'))) {
      throw new InvalidSignatureException(
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ' +
          `Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'${canonical}'\n\n` +
          `The String-to-Sign should have been\n'${toSign}'\n`,
      );
    }
    return { accessKeyId: scope.accessKeyId, key, region: scope.region, signedAtMs: amzDate.ms };
  }

  private checkClockSkew(amzDate: SigningDate): void {
    const nowMs = this.options.clock.now();
    const skewMinutes = `${this.maxClockSkewMs / 60_000} min.`;
    if (amzDate.ms < nowMs - this.maxClockSkewMs) {
      throw new InvalidSignatureException(
        `Signature expired: ${amzDate.text} is now earlier than ${basicDate(nowMs - this.maxClockSkewMs)} (${basicDate(nowMs)} - ${skewMinutes})`,
      );
    }
    if (amzDate.ms > nowMs + this.maxClockSkewMs) {
      throw new InvalidSignatureException(
        `Signature not yet current: ${amzDate.text} is still later than ${basicDate(nowMs + this.maxClockSkewMs)} (${basicDate(nowMs)} + ${skewMinutes})`,
      );
    }
  }
}

// --- the Authorization header ---

export interface CredentialScope {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
}

export interface ParsedAuthorization {
  readonly scope: CredentialScope;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request, SignedHeaders=a;b, Signature=<hex>`. */
export function parseAuthorization(value: string): ParsedAuthorization {
  const trimmed = value.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space + 1).trim();
  if (algorithm !== SIGV4_ALGORITHM) throw new IncompleteSignatureException(`Unsupported Authorization algorithm '${algorithm}': sign with ${SIGV4_ALGORITHM}`);
  const parameters = new Map<string, string>();
  for (const part of rest.split(',')) {
    const equals = part.indexOf('=');
    const name = (equals < 0 ? part : part.slice(0, equals)).trim();
    if (name === '') continue;
    if (equals < 0) throw new IncompleteSignatureException(`Authorization parameter '${name}' has no value (write ${name}=...)`);
    if (parameters.has(name)) throw new IncompleteSignatureException(`Authorization parameter '${name}' is given twice`);
    parameters.set(name, part.slice(equals + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((name) => !parameters.get(name));
  if (missing.length > 0) {
    throw new IncompleteSignatureException(`${missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ')} Authorization=${trimmed}`);
  }
  const credential = parameters.get('Credential')!.split('/');
  if (credential.length !== 5 || credential.some((part) => part === '')) {
    throw new IncompleteSignatureException(
      `Credential '${parameters.get('Credential')}' must be <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  const signedHeaders = parameters.get('SignedHeaders')!.split(';');
  if (signedHeaders.some((name) => name === '' || name !== name.toLowerCase())) {
    throw new IncompleteSignatureException(`SignedHeaders '${parameters.get('SignedHeaders')}' must be lowercase header names separated by ';'`);
  }
  const signature = parameters.get('Signature')!;
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new IncompleteSignatureException('Signature must be 64 lowercase hexadecimal characters (an HMAC-SHA256)');
  return { scope: { accessKeyId, date, region, service, terminator }, signedHeaders, signature };
}

// --- the signing date ---

interface SigningDate {
  /** `YYYYMMDDTHHMMSSZ`. */
  readonly text: string;
  readonly ms: number;
}

/** From `x-amz-date`, or else from `date`; whichever it is must be among the signed headers, so the date is signed. */
function signingDateOf(headers: SignedRequest['headers'], signedHeaders: readonly string[]): SigningDate {
  const amzDate = headerValues(headers, 'x-amz-date');
  const httpDate = headerValues(headers, 'date');
  const [name, value] = amzDate.length > 0 ? ['x-amz-date', amzDate[0]!] : httpDate.length > 0 ? ['date', httpDate[0]!] : [undefined, undefined];
  if (name === undefined) throw new IncompleteSignatureException("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header");
  if (!signedHeaders.includes(name)) throw new IncompleteSignatureException(`'${name}' must be a 'SignedHeader' in the AWS Authorization: the signature must cover its date`);
  const basic = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value.trim());
  const ms = basic ? Date.UTC(+basic[1]!, +basic[2]! - 1, +basic[3]!, +basic[4]!, +basic[5]!, +basic[6]!) : Date.parse(value);
  if (Number.isNaN(ms)) throw new IncompleteSignatureException(`Date must be in ISO-8601 'basic format' (YYYYMMDD'T'HHMMSS'Z'), got ${name}: '${value}'`);
  return { text: basic ? value.trim() : basicDate(ms), ms };
}

/** `YYYYMMDDTHHMMSSZ` of an instant. */
export function basicDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

// --- the canonical request and the signature (pure, and tested against AWS's examples) ---

export interface CanonicalRequestParts {
  readonly method: string;
  readonly url: string;
  readonly headers: SignedRequest['headers'];
  readonly signedHeaders: readonly string[];
  readonly payloadHash: string;
}

export function canonicalRequest({ method, url, headers, signedHeaders, payloadHash }: CanonicalRequestParts): string {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt + 1);
  const canonicalHeaders = signedHeaders.map((name) => {
    const values = headerValues(headers, name);
    if (values.length === 0) throw new IncompleteSignatureException(`Signed header '${name}' is not in the request`);
    return `${name}:${values.map((value) => value.replace(/\s+/g, ' ').trim()).join(',')}\n`;
  });
  return [method, canonicalUri(path), canonicalQueryString(query), canonicalHeaders.join(''), signedHeaders.join(';'), payloadHash].join('\n');
}

/**
 * The path as AWS signs it for services other than S3: dot segments resolved and empty segments
 * dropped (RFC 3986), then each character outside the unreserved set percent-encoded. The path
 * arrives encoded once, so this is the "encoded twice" of AWS's documentation.
 */
export function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `/${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return normalized.split('/').map(uriEncode).join('/');
}

/** Parameters decoded, each name and value encoded as AWS does, sorted by name and then by value. */
export function canonicalQueryString(rawQuery: string): string {
  const pairs = rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const equals = part.indexOf('=');
      const name = equals < 0 ? part : part.slice(0, equals);
      const value = equals < 0 ? '' : part.slice(equals + 1);
      return [uriEncode(percentDecode(name)), uriEncode(percentDecode(value))] as const;
    });
  pairs.sort(([nameA, valueA], [nameB, valueB]) => compareCodeUnits(nameA, nameB) || compareCodeUnits(valueA, valueB));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
}

export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  let key: Buffer = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return key;
}

export function scopeText({ date, region, service, terminator }: Omit<CredentialScope, 'accessKeyId'>): string {
  return `${date}/${region}/${service}/${terminator}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 encoding: everything but A-Z a-z 0-9 - _ . ~ as %XX of its UTF-8 bytes. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // A stray '%' is a literal the client signed as it is; encoding it again gives %25, as the client's would.
    return text;
  }
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function headerValues(headers: SignedRequest['headers'], lowercaseName: string): string[] {
  return headers.filter(([name]) => name.toLowerCase() === lowercaseName).map(([, value]) => value);
}

/** Equality of two secrets without a timing that depends on where they differ or on their lengths. */
function digestsEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** node's `rawHeaders` (name, value, name, value, …) as pairs. */
export function headerPairs(rawHeaders: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) pairs.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return pairs;
}
