import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.ts';
import {
  IncompleteSignatureException,
  InvalidSignatureException,
  MissingAuthenticationTokenException,
  UnrecognizedClientException,
  type KinesisAnalyticsError,
} from './kinesis-analytics-errors.ts';
import {
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  sha256Hex,
  signingKey,
  stringToSign,
  SigV4Verifier,
  type SignedRequest,
  type SigningSecret,
} from './sigv4-verifier.ts';
import { headerOf, signWithSdkSigner, withHeader, withoutHeader, type TestCredentials } from './testing/sign-request.ts';

// AWS's published example: the credentials of its SigV4 test suite and documentation.
const EXAMPLE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const EXAMPLE_DATE = '20150830T123600Z';
const EXAMPLE_MS = Date.UTC(2015, 7, 30, 12, 36, 0);
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const KEY: TestCredentials = { accessKeyId: 'AKIASLUICETEST', secretAccessKey: 'sluice-test-secret-0123456789' };
const NOW_MS = Date.UTC(2026, 2, 14, 9, 26, 53);

function verifierFor(keys: Record<string, SigningSecret>, options: { nowMs?: number; service?: string; region?: string } = {}) {
  const clock = new ManualClock(options.nowMs ?? NOW_MS);
  const verifier = new SigV4Verifier({
    service: options.service ?? 'kinesisanalytics',
    clock,
    lookup: async (accessKeyId) => keys[accessKeyId],
    ...(options.region === undefined ? {} : { region: options.region }),
  });
  return { verifier, clock };
}

const defaultVerifier = () => verifierFor({ [KEY.accessKeyId]: KEY }).verifier;

interface SdkSignedOverrides {
  body?: string;
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  atMs?: number;
  /** Whether the signer adds x-amz-content-sha256 (it does by default). */
  applyChecksum?: boolean;
}

function sdkSigned(overrides: SdkSignedOverrides = {}, credentials: TestCredentials = KEY) {
  return signWithSdkSigner(
    {
      host: '127.0.0.1:8084',
      path: overrides.path ?? '/',
      ...(overrides.query ? { query: overrides.query } : {}),
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'KinesisAnalytics_20180523.DescribeApplication', ...overrides.headers },
      body: overrides.body ?? '{"ApplicationName":"orders"}',
    },
    { credentials, signingDate: new Date(overrides.atMs ?? NOW_MS), applyChecksum: overrides.applyChecksum ?? true },
  );
}

async function assertRefused(promise: Promise<unknown>, type: new (...args: never[]) => KinesisAnalyticsError, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("AWS's published examples", () => {
  it('derives the signing key of the documentation example (iam, us-east-1, 20150830)', () => {
    assert.equal(signingKey(EXAMPLE.secretAccessKey, '20150830', 'us-east-1', 'iam').toString('hex'), 'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9');
  });

  it('builds the canonical request, string to sign and signature of get-vanilla', () => {
    const canonical = canonicalRequest({
      method: 'GET',
      url: '/',
      headers: [
        ['Host', 'example.amazonaws.com'],
        ['X-Amz-Date', EXAMPLE_DATE],
      ],
      signedHeaders: ['host', 'x-amz-date'],
      payloadHash: EMPTY_SHA256,
    });
    assert.equal(canonical, `GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:${EXAMPLE_DATE}\n\nhost;x-amz-date\n${EMPTY_SHA256}`);
    const toSign = stringToSign(EXAMPLE_DATE, '20150830/us-east-1/service/aws4_request', canonical);
    assert.equal(toSign, `AWS4-HMAC-SHA256\n${EXAMPLE_DATE}\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63`);
  });

  for (const [method, signature] of [
    ['GET', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    ['POST', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
  ] as const) {
    it(`accepts ${method.toLowerCase()}-vanilla with its published signature, and nothing else`, async () => {
      const { verifier } = verifierFor({ AKIDEXAMPLE: EXAMPLE }, { nowMs: EXAMPLE_MS, service: 'service' });
      const request: SignedRequest = {
        method,
        url: '/',
        headers: [
          ['Host', 'example.amazonaws.com'],
          ['X-Amz-Date', EXAMPLE_DATE],
          ['Authorization', `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`],
        ],
        body: new Uint8Array(),
      };
      const verified = await verifier.verify(request);
      assert.deepEqual({ accessKeyId: verified.accessKeyId, region: verified.region, signedAtMs: verified.signedAtMs }, { accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', signedAtMs: EXAMPLE_MS });
      const otherMethod = { ...request, method: method === 'GET' ? 'POST' : 'GET' };
      await assertRefused(verifier.verify(otherMethod), InvalidSignatureException, /does not match the signature you provided/);
    });
  }

  it('accepts the IAM ListUsers example (a query string and a signed Content-Type)', async () => {
    const { verifier } = verifierFor({ AKIDEXAMPLE: EXAMPLE }, { nowMs: EXAMPLE_MS, service: 'iam' });
    await verifier.verify({
      method: 'GET',
      url: '/?Action=ListUsers&Version=2010-05-08',
      headers: [
        ['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8'],
        ['Host', 'iam.amazonaws.com'],
        ['X-Amz-Date', EXAMPLE_DATE],
        [
          'Authorization',
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, ' +
            'Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
        ],
      ],
      body: new Uint8Array(),
    });
  });
});

describe('canonical forms', () => {
  it('normalises the path as AWS does for services other than S3, and encodes it twice', () => {
    assert.equal(canonicalUri(''), '/');
    assert.equal(canonicalUri('/'), '/');
    assert.equal(canonicalUri('/a/./b/../c//d/'), '/a/c/d/');
    assert.equal(canonicalUri('/../..'), '/');
    assert.equal(canonicalUri('/a%20b/c:d'), '/a%2520b/c%3Ad');
  });

  it('sorts the query by name, then value, and encodes both as RFC 3986', () => {
    assert.equal(canonicalQueryString(''), '');
    assert.equal(canonicalQueryString('b=2&a=3&a=1&c'), 'a=1&a=3&b=2&c=');
    assert.equal(canonicalQueryString("x=a%20b&y=it's(ok)*&z=%E2%82%AC&p=1+1"), 'p=1%2B1&x=a%20b&y=it%27s%28ok%29%2A&z=%E2%82%AC');
  });

  it('trims header values, collapses their spaces and joins repeated headers with commas', () => {
    const canonical = canonicalRequest({
      method: 'POST',
      url: '/',
      headers: [
        ['Host', 'h'],
        ['X-Custom', '  a   b  '],
        ['x-custom', 'c'],
      ],
      signedHeaders: ['host', 'x-custom'],
      payloadHash: EMPTY_SHA256,
    });
    assert.match(canonical, /\nhost:h\nx-custom:a b,c\n\nhost;x-custom\n/);
  });
});

describe('requests signed by the SDK signer', () => {
  it('accepts a JSON 1.1 request', async () => {
    const verified = await defaultVerifier().verify(await sdkSigned());
    assert.equal(verified.accessKeyId, KEY.accessKeyId);
    assert.equal(verified.key, KEY);
  });

  it('accepts odd paths, queries and headers', async () => {
    const request = await sdkSigned({
      path: '/a%20b/./c/%E2%82%AC/',
      query: { 'z key': 'v w', a: ['2', '1'], "x!'()*": '~-_.', empty: '' },
      headers: { 'x-amz-meta': '  spaced    out  ', 'x-unicode': 'caf\u00e9' },
      body: '{"ApplicationName":"caf\u00e9 \u20ac"}',
    });
    await defaultVerifier().verify(request);
  });

  it('accepts a request dated exactly five minutes off, either way', async () => {
    const { verifier } = verifierFor({ [KEY.accessKeyId]: KEY });
    await verifier.verify(await sdkSigned({ atMs: NOW_MS - 5 * 60_000 }));
    await verifier.verify(await sdkSigned({ atMs: NOW_MS + 5 * 60_000 }));
  });

  it('accepts a session token the key requires, and ignores one the key does not define', async () => {
    const withToken = { ...KEY, sessionToken: 'session-token-1' };
    const { verifier } = verifierFor({ [KEY.accessKeyId]: withToken });
    await verifier.verify(await sdkSigned({}, withToken));
    await defaultVerifier().verify(await sdkSigned({}, withToken));
  });

  it('accepts a request with or without x-amz-content-sha256', async () => {
    const withHash = await sdkSigned();
    assert.equal(headerOf(withHash, 'x-amz-content-sha256'), sha256Hex('{"ApplicationName":"orders"}'));
    await defaultVerifier().verify(withHash);
    await defaultVerifier().verify(await sdkSigned({ applyChecksum: false }));
  });
});

describe('refusals', () => {
  it('refuses a request without an Authorization header as missing a token', async () => {
    const request = withoutHeader(await sdkSigned(), 'authorization');
    await assertRefused(defaultVerifier().verify(request), MissingAuthenticationTokenException, /missing Authentication Token/);
  });

  it('refuses a malformed Authorization header, naming what is wrong', async () => {
    const signed = await sdkSigned();
    const authorization = headerOf(signed, 'authorization')!;
    const cases: [string, RegExp][] = [
      ['AWS4-HMAC-SHA1 Credential=x', /Unsupported Authorization algorithm 'AWS4-HMAC-SHA1'/],
      ['AWS4-HMAC-SHA256', /requires 'Credential' parameter.*requires 'SignedHeaders' parameter.*requires 'Signature' parameter/],
      [authorization.replace(/, Signature=[0-9a-f]+/, ''), /requires 'Signature' parameter/],
      [authorization.replace(/Credential=[^/]+\//, 'Credential='), /Credential '.*' must be <access key id>\/<YYYYMMDD>\/<region>\/<service>\/aws4_request/],
      [authorization.replace(/Signature=[0-9a-f]+/, 'Signature=abc'), /Signature must be 64 lowercase hexadecimal/],
      [authorization.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=content-type;x-amz-date'), /'Host' must be a 'SignedHeader'/],
      [authorization.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=content-type;host'), /'x-amz-date' must be a 'SignedHeader'/],
      [authorization.replace(/SignedHeaders=/, 'SignedHeaders=x-missing;'), /Signed header 'x-missing' is not in the request/],
    ];
    for (const [value, message] of cases) {
      await assertRefused(defaultVerifier().verify(withHeader(signed, 'Authorization', value)), IncompleteSignatureException, message);
    }
  });

  it('refuses a credential scoped to another service, region or terminator, or another day', async () => {
    const signed = await sdkSigned();
    const authorization = headerOf(signed, 'authorization')!;
    const { verifier } = verifierFor({ [KEY.accessKeyId]: KEY }, { region: 'us-east-1' });
    const cases: [string, RegExp][] = [
      [authorization.replace('/kinesisanalytics/', '/kinesis/'), /scoped to correct service: 'kinesisanalytics', not 'kinesis'/],
      [authorization.replace('/us-east-1/', '/eu-west-1/'), /scoped to a valid region: 'us-east-1', not 'eu-west-1'/],
      [authorization.replace('/aws4_request', '/aws5_request'), /valid terminator: 'aws4_request', not 'aws5_request'/],
      [authorization.replace('/20260314/', '/20260313/'), /Date in Credential scope does not match .* '20260313' != '20260314'/],
    ];
    for (const [value, message] of cases) await assertRefused(verifier.verify(withHeader(signed, 'Authorization', value)), InvalidSignatureException, message);
  });

  it('refuses a request more than five minutes old as expired, and one more than five minutes ahead as not yet current', async () => {
    await assertRefused(
      defaultVerifier().verify(await sdkSigned({ atMs: NOW_MS - 5 * 60_000 - 1000 })),
      InvalidSignatureException,
      /^Signature expired: 20260314T092152Z is now earlier than 20260314T092153Z \(20260314T092653Z - 5 min\.\)$/,
    );
    await assertRefused(
      defaultVerifier().verify(await sdkSigned({ atMs: NOW_MS + 5 * 60_000 + 1000 })),
      InvalidSignatureException,
      /^Signature not yet current: 20260314T093154Z is still later than 20260314T093153Z \(20260314T092653Z \+ 5 min\.\)$/,
    );
  });

  it('refuses an access key it does not know', async () => {
    const stranger = { accessKeyId: 'AKIASTRANGER', secretAccessKey: KEY.secretAccessKey };
    await assertRefused(defaultVerifier().verify(await sdkSigned({}, stranger)), UnrecognizedClientException, /access key 'AKIASTRANGER' is not known/);
  });

  it('refuses a signature made with another secret, saying what it expected to be signed', async () => {
    const wrongSecret = { ...KEY, secretAccessKey: 'not-the-secret-0123456789' };
    await assertRefused(
      defaultVerifier().verify(await sdkSigned({}, wrongSecret)),
      InvalidSignatureException,
      /does not match the signature you provided[\s\S]*Canonical String[\s\S]*POST\n\/\n\n[\s\S]*String-to-Sign[\s\S]*AWS4-HMAC-SHA256\n20260314T092653Z\n20260314\/us-east-1\/kinesisanalytics\/aws4_request/,
    );
  });

  it('refuses a request changed after signing: body, signed header, path or query', async () => {
    // Without x-amz-content-sha256 the body is covered by the signature alone.
    const signed = await sdkSigned({ query: { a: '1' }, applyChecksum: false });
    assert.equal(headerOf(signed, 'x-amz-content-sha256'), undefined);
    const tampered: [string, SignedRequest][] = [
      ['body', { ...signed, body: Buffer.from('{"ApplicationName":"payroll"}') }],
      ['signed header', withHeader(signed, 'X-Amz-Target', 'KinesisAnalytics_20180523.DeleteApplication')],
      ['path', { ...signed, url: '/other?a=1' }],
      ['query', { ...signed, url: '/?a=2' }],
    ];
    for (const [what, request] of tampered) {
      await assertRefused(defaultVerifier().verify(request), InvalidSignatureException, /does not match the signature you provided/).catch((error: Error) => {
        throw new Error(`a changed ${what} passed: ${error.message}`);
      });
    }
  });

  it('refuses a changed body even when x-amz-content-sha256 still carries the hash of the original', async () => {
    const signed = await sdkSigned({ body: '{"ApplicationName":"orders"}' });
    await assertRefused(
      defaultVerifier().verify({ ...signed, body: Buffer.from('{"ApplicationName":"payroll"}') }),
      InvalidSignatureException,
      /x-amz-content-sha256' header does not match what was computed/,
    );
  });

  it('refuses a key that needs a session token when the token is missing or wrong', async () => {
    const withToken = { ...KEY, sessionToken: 'session-token-1' };
    const { verifier } = verifierFor({ [KEY.accessKeyId]: withToken });
    await assertRefused(verifier.verify(await sdkSigned()), UnrecognizedClientException, /needs its session token in x-amz-security-token/);
    await assertRefused(verifier.verify(await sdkSigned({}, { ...withToken, sessionToken: 'session-token-2' })), UnrecognizedClientException, /needs its session token/);
  });

  it('refuses a presigned URL, which it does not support', async () => {
    const request: SignedRequest = { method: 'GET', url: '/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00', headers: [['Host', 'h']], body: new Uint8Array() };
    await assertRefused(defaultVerifier().verify(request), IncompleteSignatureException, /Presigned URLs are not supported/);
  });
});
