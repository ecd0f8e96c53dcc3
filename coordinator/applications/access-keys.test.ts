import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../shared/errors.ts';
import {
  authorize,
  describeAccessKeys,
  FileAccessKeyStore,
  InMemoryAccessKeyStore,
  parseAccessKeysConfig,
  type AccessKeysConfigInput,
  type AccessPolicy,
  type Principal,
} from './access-keys.ts';
import { AccessDeniedException } from './kinesis-analytics-errors.ts';

const SECRET = 'sluice-test-secret-0123456789';

const keyWith = (policy: AccessPolicy): Principal => ({ kind: 'access-key', accessKeyId: 'AKIATEST', policy });

function allowed(principal: Principal, operation: Parameters<typeof authorize>[1], application?: string): boolean {
  return authorize(principal, operation, application).allowed;
}

function assertConfigError(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, `expected a ConfigurationError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  });
}

const validKey = { accessKeyId: 'AKIAOPS', secretAccessKey: SECRET, actions: ['kinesisanalytics:*'], applications: ['*'] };

describe('authorize', () => {
  it('allows every operation on every application with kinesisanalytics:* on *', () => {
    const admin = keyWith({ actions: ['kinesisanalytics:*'], applications: ['*'] });
    assert.ok(allowed(admin, 'DeleteApplication', 'orders'));
    assert.ok(allowed(admin, 'ListApplications'));
    assert.ok(allowed(keyWith({ actions: ['*'], applications: ['*'] }), 'StartApplication', 'orders'));
  });

  it('matches actions exactly, by wildcard, and without regard to case, as IAM does', () => {
    const reader = keyWith({ actions: ['kinesisanalytics:Describe*', 'kinesisanalytics:listapplications'], applications: ['*'] });
    assert.ok(allowed(reader, 'DescribeApplication', 'orders'));
    assert.ok(allowed(reader, 'DescribeApplicationSnapshot', 'orders'));
    assert.ok(allowed(reader, 'ListApplications'));
    assert.ok(!allowed(reader, 'ListApplicationSnapshots', 'orders'));
    assert.ok(!allowed(reader, 'StartApplication', 'orders'));
  });

  it('matches application names exactly or by prefix, case-sensitively', () => {
    const team = keyWith({ actions: ['kinesisanalytics:*'], applications: ['orders-*', 'billing'] });
    assert.ok(allowed(team, 'StartApplication', 'orders-eu'));
    assert.ok(allowed(team, 'StartApplication', 'billing'));
    assert.ok(!allowed(team, 'StartApplication', 'billing-2'));
    assert.ok(!allowed(team, 'StartApplication', 'Orders-eu'));
    assert.ok(!allowed(team, 'StartApplication', 'payroll'));
  });

  it('lets only a key allowed on every application call an operation on no one application', () => {
    const team = keyWith({ actions: ['kinesisanalytics:*'], applications: ['*-eu'] });
    assert.ok(!allowed(team, 'ListApplications'));
    assert.ok(!allowed(team, 'DiscoverInputSchema'));
  });

  it('refuses with an AccessDeniedException naming the caller, the action, the resource and what did not match', () => {
    const team = keyWith({ actions: ['kinesisanalytics:Describe*'], applications: ['orders-*'] });
    const byAction = authorize(team, 'StopApplication', 'orders-eu');
    assert.ok(!byAction.allowed && byAction.error instanceof AccessDeniedException);
    assert.equal(
      byAction.error.message,
      'Access key AKIATEST is not authorized to perform: kinesisanalytics:StopApplication on resource: application/orders-eu because no action of its policy matches kinesisanalytics:StopApplication',
    );
    const byApplication = authorize(team, 'DescribeApplication', 'payroll');
    assert.ok(!byApplication.allowed);
    assert.match(byApplication.error.message, /kinesisanalytics:DescribeApplication on resource: application\/payroll because no application of its policy matches 'payroll'/);
    const everyApplication = authorize({ kind: 'anonymous', policy: { actions: ['*'], applications: ['orders-*'] } }, 'ListApplications');
    assert.ok(!everyApplication.allowed);
    assert.match(everyApplication.error.message, /^Anonymous caller .* on resource: \* because the operation acts on every application/);
  });

  it('treats regular-expression characters in a pattern as themselves', () => {
    const dotted = keyWith({ actions: ['kinesisanalytics:*'], applications: ['a.b'] });
    assert.ok(allowed(dotted, 'StartApplication', 'a.b'));
    assert.ok(!allowed(dotted, 'StartApplication', 'axb'));
  });
});

describe('the access keys file', () => {
  it('reads keys, refuses anonymous access unless allowed, and gives full access to anonymous callers when allowed without a policy', async () => {
    const store = new InMemoryAccessKeyStore({ keys: [validKey] });
    assert.equal((await store.findAccessKey('AKIAOPS'))?.secretAccessKey, SECRET);
    assert.equal(await store.findAccessKey('AKIAOTHER'), undefined);
    assert.equal(await store.anonymousPolicy(), undefined);
    assert.deepEqual(await new InMemoryAccessKeyStore({ allowAnonymous: true }).anonymousPolicy(), { actions: ['kinesisanalytics:*'], applications: ['*'] });
    const limited = { actions: ['kinesisanalytics:List*'], applications: ['*'] };
    assert.deepEqual(await new InMemoryAccessKeyStore({ allowAnonymous: true, anonymous: limited }).anonymousPolicy(), limited);
  });

  it('names the field of each mistake', () => {
    const cases: [AccessKeysConfigInput, string, RegExp][] = [
      [{ keys: [{ ...validKey, secretAccessKey: 'short' }] }, 'keys.json: keys[0].secretAccessKey', /at least 16 characters/],
      [{ keys: [validKey, { ...validKey, accessKeyId: 'AKIA/BAD' }] }, 'keys.json: keys[1].accessKeyId', /letters, digits/],
      [{ keys: [{ ...validKey, actions: ['kinesisanalytics:DescribeApplications'] }] }, 'keys.json: keys[0].actions[0]', /'kinesisanalytics:DescribeApplications' matches no operation/],
      [{ keys: [{ ...validKey, actions: ['kinesis:PutRecord'] }] }, 'keys.json: keys[0].actions[0]', /is not an action: write kinesisanalytics:<Operation>/],
      [{ keys: [{ ...validKey, actions: [] }] }, 'keys.json: keys[0].actions', /at least one action/],
      [{ keys: [{ ...validKey, applications: ['orders/eu'] }] }, 'keys.json: keys[0].applications[0]', /must be an application name/],
      [{ keys: [validKey, { ...validKey }] }, 'keys.json: keys[1].accessKeyId', /'AKIAOPS' is also keys\[0\]/],
      [{ keys: [{ ...validKey, application: ['*'] } as never] }, 'keys.json: keys[0]', /Unrecognized key.*'application'/],
      [{ keys: [] }, 'keys.json: keys', /no access key and allowAnonymous is not true/],
      [{ keys: [validKey], anonymous: { actions: ['*'], applications: ['*'] } }, 'keys.json: anonymous', /allowAnonymous is not true/],
      [{ keys: [validKey], allowAnonymous: 'yes' } as never, 'keys.json: allowAnonymous', /boolean/],
    ];
    for (const [config, field, message] of cases) assertConfigError(() => parseAccessKeysConfig(config, 'keys.json'), field, message);
  });

  it('describes the keys without their secrets', () => {
    const description = JSON.stringify(describeAccessKeys(parseAccessKeysConfig({ keys: [{ ...validKey, sessionToken: 'token-1' }] }, 'keys.json')));
    assert.ok(!description.includes(SECRET) && !description.includes('token-1'), description);
    assert.match(description, /AKIAOPS/);
  });

  it('loads a file, reloads it when edited, and keeps the old keys when the new file is invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-access-keys-'));
    try {
      const path = join(dir, 'keys.json');
      await writeFile(path, JSON.stringify({ keys: [validKey] }));
      const store = await FileAccessKeyStore.load(path);
      assert.ok(await store.findAccessKey('AKIAOPS'));

      await writeFile(path, JSON.stringify({ keys: [{ ...validKey, accessKeyId: 'AKIAROTATED' }] }));
      await store.reload();
      assert.equal(await store.findAccessKey('AKIAOPS'), undefined);
      assert.ok(await store.findAccessKey('AKIAROTATED'));

      await writeFile(path, '{ "keys": [');
      await assert.rejects(store.reload(), (error: unknown) => error instanceof ConfigurationError && error.field === path && /not valid JSON/.test(error.message));
      assert.ok(await store.findAccessKey('AKIAROTATED'));

      await assert.rejects(FileAccessKeyStore.load(join(dir, 'missing.json')), /cannot read the access keys file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
