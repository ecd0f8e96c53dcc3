import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RESTART_STRATEGY } from './restart-strategy-config.ts';
import { resolveCoordinatorConfig } from './coordinator-config.ts';
import { describeConfig } from './describe-config.ts';
import { TOKEN, assertConfigError, tempFiles } from './testing/config-test-support.ts';

const files = tempFiles();
after(() => files.cleanup());

const withToken = { SLUICE_CLUSTER_TOKEN: TOKEN };

describe('resolveCoordinatorConfig', () => {
  it('applies the defaults', () => {
    const config = resolveCoordinatorConfig({ flags: {}, env: withToken });
    const { id, ...rest } = config;
    assert.match(id, /^coordinator-[A-Za-z0-9._-]+-\d+$/);
    assert.deepEqual(rest, {
      host: '127.0.0.1',
      rpcPort: 6123,
      restPort: 8081,
      metricsPort: 9249,
      etcdEndpoints: undefined,
      leaseTtlSeconds: 10,
      clusterToken: TOKEN,
      clusterTokenFile: undefined,
      allowUnauthenticated: false,
      heartbeatIntervalMs: 1_000,
      heartbeatTimeoutMs: 5_000,
      checkpointDirectory: './sluice-data/checkpoints',
      // Managed Flink's checkpoint defaults.
      checkpointIntervalMs: 60_000,
      minPauseBetweenCheckpointsMs: 5_000,
      retainedCheckpoints: 3,
      checkpointTimeoutMs: 600_000,
      tolerableFailedCheckpoints: 3,
      snapshotDirectory: './sluice-data/snapshots',
      restartStrategy: DEFAULT_RESTART_STRATEGY,
      workerRegistrationGraceMs: 5_000,
      dataDirectory: './sluice-data',
      s3Endpoint: undefined,
      s3Region: undefined,
      // The applications API is off until access keys are given.
      apiKeysFile: undefined,
      apiRegion: 'us-east-1',
      apiAccountId: '000000000000',
      autoscalingIntervalMs: 5_000,
    });
  });

  it('returns a deeply frozen object', () => {
    const config = resolveCoordinatorConfig({ flags: { 'etcd-endpoints': 'a:1,b:2' }, env: withToken });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.etcdEndpoints));
    assert.ok(Object.isFrozen(config.restartStrategy));
    assert.throws(() => {
      (config as { restPort: number }).restPort = 1;
    }, TypeError);
  });

  it('takes each field from the highest source: flag > environment > file > default', () => {
    const file = files.write('precedence.json', { restPort: 1003, rpcPort: 2003, metricsPort: 3003, leaseTtlSeconds: 33 });
    const env = { ...withToken, SLUICE_REST_PORT: '1002', SLUICE_RPC_PORT: '2002' };
    const config = resolveCoordinatorConfig({ flags: { 'rest-port': '1001' }, env, file });
    assert.equal(config.restPort, 1001);
    assert.equal(config.rpcPort, 2002);
    assert.equal(config.metricsPort, 3003);
    assert.equal(config.leaseTtlSeconds, 33);
    assert.equal(config.retainedCheckpoints, 3);

    assert.equal(resolveCoordinatorConfig({ flags: {}, env, file }).restPort, 1002);
    assert.equal(resolveCoordinatorConfig({ flags: {}, env: withToken, file }).restPort, 1003);
    assert.equal(resolveCoordinatorConfig({ flags: {}, env: withToken }).restPort, 8081);
  });

  it('reads the config file from sources.file, --config or SLUICE_CONFIG, in that order', () => {
    const a = files.write('a.json', { restPort: 1 });
    const b = files.write('b.json', { restPort: 2 });
    const c = files.write('c.json', { restPort: 3 });
    assert.equal(resolveCoordinatorConfig({ flags: { config: b }, env: { ...withToken, SLUICE_CONFIG: c }, file: a }).restPort, 1);
    assert.equal(resolveCoordinatorConfig({ flags: { config: b }, env: { ...withToken, SLUICE_CONFIG: c } }).restPort, 2);
    assert.equal(resolveCoordinatorConfig({ flags: {}, env: { ...withToken, SLUICE_CONFIG: c } }).restPort, 3);
  });

  it('treats an empty environment variable as unset', () => {
    const config = resolveCoordinatorConfig({ flags: {}, env: { ...withToken, SLUICE_REST_PORT: '', SLUICE_ETCD_ENDPOINTS: '' } });
    assert.equal(config.restPort, 8081);
    assert.equal(config.etcdEndpoints, undefined);
  });

  it('names the field and the source of a bad value', () => {
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'rest-port': 'abc' }, env: withToken }), '--rest-port', /^--rest-port: "abc" is not a port/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: { ...withToken, SLUICE_REST_PORT: '70000' } }), 'SLUICE_REST_PORT', /^SLUICE_REST_PORT: "70000" is not a port/);
    const file = files.write('bad-port.json', { restPort: 'abc' });
    assertConfigError(
      () => resolveCoordinatorConfig({ flags: {}, env: withToken, file }),
      `config file ${file}: restPort`,
      new RegExp(`^config file ${file}: restPort: "abc" is not a port`),
    );
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'lease-ttl-seconds': '0' }, env: withToken }), '--lease-ttl-seconds', /"0" is not an integer of at least 1/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'checkpoint-interval-ms': '5' }, env: withToken }), '--checkpoint-interval-ms', /at least 10 ms/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'allow-unauthenticated': 'maybe' }, env: {} }), '--allow-unauthenticated', /"maybe" is not true or false/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: { id: 'has space' }, env: withToken }), '--id', /is not an id/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'rest-port': true }, env: withToken }), '--rest-port', /needs a value/);
    const badValue = files.write('bad-retained.json', { retainedCheckpoints: 2.5 });
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: withToken, file: badValue }), `config file ${badValue}: retainedCheckpoints`, /2.5 is not an integer/);
  });

  it('accepts durations as text', () => {
    const config = resolveCoordinatorConfig({ flags: { 'checkpoint-interval-ms': '30s', 'heartbeat-timeout-ms': '1m' }, env: withToken });
    assert.equal(config.checkpointIntervalMs, 30_000);
    assert.equal(config.heartbeatTimeoutMs, 60_000);
    assert.equal(config.workerRegistrationGraceMs, 60_000, 'the grace period follows the heartbeat timeout');
  });

  it('requires the heartbeat timeout to exceed the interval, naming where each came from', () => {
    assertConfigError(
      () => resolveCoordinatorConfig({ flags: { 'heartbeat-timeout-ms': '1000' }, env: withToken }),
      '--heartbeat-timeout-ms',
      /heartbeatTimeoutMs \(1000, from --heartbeat-timeout-ms\) must be greater than heartbeatIntervalMs \(1000, the default\)/,
    );
    assertConfigError(
      () => resolveCoordinatorConfig({ flags: {}, env: { ...withToken, SLUICE_HEARTBEAT_INTERVAL_MS: '6000' } }),
      'SLUICE_HEARTBEAT_INTERVAL_MS',
      /\(5000, the default\) must be greater than heartbeatIntervalMs \(6000, from SLUICE_HEARTBEAT_INTERVAL_MS\)/,
    );
  });

  it('parses etcd endpoints from a comma list or a file array, adding the scheme', () => {
    const config = resolveCoordinatorConfig({ flags: { 'etcd-endpoints': '10.0.0.1:2379, https://etcd-2.internal:2379,[::1]:2379' }, env: withToken });
    assert.deepEqual(config.etcdEndpoints, ['http://10.0.0.1:2379', 'https://etcd-2.internal:2379', 'http://[::1]:2379']);
    const file = files.write('etcd.json', { etcdEndpoints: ['a:1', 'b:2'] });
    assert.deepEqual(resolveCoordinatorConfig({ flags: {}, env: withToken, file }).etcdEndpoints, ['http://a:1', 'http://b:2']);
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'etcd-endpoints': 'a:1,etcd' }, env: withToken }), '--etcd-endpoints', /"etcd" is not an etcd endpoint/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'etcd-endpoints': 'a:1,,b:2' }, env: withToken }), '--etcd-endpoints', /entry 2 of "a:1,,b:2" is empty/);
  });

  it('parses the restart strategy from a flag’s JSON, a bare kind, or a file object, naming the bad option', () => {
    const fromFlag = resolveCoordinatorConfig({ flags: { 'restart-strategy': '{"kind":"fixed-delay","attempts":3,"delayMs":"10s"}' }, env: withToken });
    assert.deepEqual(fromFlag.restartStrategy, { kind: 'fixed-delay', attempts: 3, delayMs: 10_000 });
    const fromEnv = resolveCoordinatorConfig({ flags: {}, env: { ...withToken, SLUICE_RESTART_STRATEGY: 'none' } });
    assert.deepEqual(fromEnv.restartStrategy, { kind: 'none' });
    const file = files.write('restart.json', { restartStrategy: { kind: 'failure-rate', maxFailuresPerInterval: 5 } });
    assert.deepEqual(resolveCoordinatorConfig({ flags: {}, env: withToken, file }).restartStrategy, {
      kind: 'failure-rate',
      maxFailuresPerInterval: 5,
      failureRateIntervalMs: 60_000,
      delayMs: 1_000,
    });
    assertConfigError(
      () => resolveCoordinatorConfig({ flags: { 'restart-strategy': '{"kind":"fixed-delay","delayMs":"soon"}' }, env: withToken }),
      '--restart-strategy.delayMs',
      /"soon" is not a duration/,
    );
    const badFile = files.write('bad-restart.json', { restartStrategy: { kind: 'exponential-delay', jitter: 0.2 } });
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: withToken, file: badFile }), `config file ${badFile}: restartStrategy.jitter`, /not an option of exponential-delay/);
  });

  it('takes the checkpoint directory under the data directory unless given', () => {
    assert.equal(resolveCoordinatorConfig({ flags: { 'data-directory': '/var/lib/sluice/' }, env: withToken }).checkpointDirectory, '/var/lib/sluice/checkpoints');
    assert.equal(
      resolveCoordinatorConfig({ flags: { 'data-directory': '/var/lib/sluice', 'checkpoint-directory': 's3://bucket/checkpoints' }, env: withToken }).checkpointDirectory,
      's3://bucket/checkpoints',
    );
  });
});

describe('cluster token', () => {
  it('is required unless unauthenticated operation is allowed, and the error says how to set it', () => {
    const error = assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: {} }), 'clusterToken', /set --cluster-token or SLUICE_CLUSTER_TOKEN/);
    assert.match(error.message, /--allow-unauthenticated/);
    const open = resolveCoordinatorConfig({ flags: { 'allow-unauthenticated': true }, env: {} });
    assert.equal(open.clusterToken, undefined);
    assert.equal(open.allowUnauthenticated, true);
    assert.equal(resolveCoordinatorConfig({ flags: {}, env: { SLUICE_ALLOW_UNAUTHENTICATED: 'true' } }).allowUnauthenticated, true);
  });

  it('must be at least 16 characters, and the error does not show it', () => {
    const error = assertConfigError(() => resolveCoordinatorConfig({ flags: { 'cluster-token': 'hunter2' }, env: {} }), '--cluster-token', /at least 16 characters, got 7/);
    assert.doesNotMatch(error.message, /hunter2/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: { SLUICE_CLUSTER_TOKEN: 'with space in the token' } }), 'SLUICE_CLUSTER_TOKEN', /whitespace/);
  });

  it('can come from a file, trimmed', () => {
    const path = files.write('token', `  ${TOKEN}\n`);
    const config = resolveCoordinatorConfig({ flags: { 'cluster-token-file': path }, env: {} });
    assert.equal(config.clusterToken, TOKEN);
    assert.equal(config.clusterTokenFile, path);
    const fromEnv = resolveCoordinatorConfig({ flags: {}, env: { SLUICE_CLUSTER_TOKEN_FILE: path } });
    assert.equal(fromEnv.clusterToken, TOKEN);
  });

  it('names a missing or too short token file', () => {
    const missing = '/nonexistent/sluice/token';
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'cluster-token-file': missing }, env: {} }), '--cluster-token-file', /token file \/nonexistent\/sluice\/token does not exist/);
    const short = files.write('short-token', 'abc\n');
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: { SLUICE_CLUSTER_TOKEN_FILE: short } }), `SLUICE_CLUSTER_TOKEN_FILE (${short})`, /at least 16 characters, got 3/);
  });

  it('takes the token or the file from the higher source; both from one source is an error', () => {
    const path = files.write('token-2', 'token-from-the-file-0123456789');
    const flagTokenEnvFile = resolveCoordinatorConfig({ flags: { 'cluster-token': TOKEN }, env: { SLUICE_CLUSTER_TOKEN_FILE: path } });
    assert.equal(flagTokenEnvFile.clusterToken, TOKEN);
    assert.equal(flagTokenEnvFile.clusterTokenFile, undefined);
    const flagFileEnvToken = resolveCoordinatorConfig({ flags: { 'cluster-token-file': path }, env: { SLUICE_CLUSTER_TOKEN: TOKEN } });
    assert.equal(flagFileEnvToken.clusterToken, 'token-from-the-file-0123456789');
    assertConfigError(
      () => resolveCoordinatorConfig({ flags: { 'cluster-token': TOKEN, 'cluster-token-file': path }, env: {} }),
      '--cluster-token-file',
      /not both \(the token comes from --cluster-token\)/,
    );
  });

  it('is redacted by describeConfig', () => {
    const config = resolveCoordinatorConfig({ flags: { 'etcd-endpoints': 'http://root:secret@etcd:2379' }, env: withToken });
    const description = describeConfig(config);
    assert.equal(description.clusterToken, '***');
    assert.deepEqual(description.etcdEndpoints, ['http://***@etcd:2379']);
    assert.equal(description.restPort, 8081);
    assert.doesNotMatch(JSON.stringify(description), new RegExp(`${TOKEN}|secret`));
    assert.equal(describeConfig(resolveCoordinatorConfig({ flags: { 'allow-unauthenticated': true }, env: {} })).clusterToken, null);
  });
});

describe('config file', () => {
  it('rejects an unknown key, naming it and suggesting the right spelling', () => {
    const file = files.write('unknown.json', { restPort: 8082, 'rest-port': 8083 });
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: withToken, file }), `config file ${file}: rest-port`, /unknown key, did you mean restPort\?; known keys: id, host/);
    const other = files.write('worker-key.json', { coordinators: 'a:1' });
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: withToken, file: other }), `config file ${other}: coordinators`, /unknown key; known keys/);
  });

  it('names a missing file, a file that is not JSON and one that is not an object', () => {
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: withToken, file: '/nonexistent/sluice.json' }), '--config', /config file \/nonexistent\/sluice.json does not exist/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: { ...withToken, SLUICE_CONFIG: '/nonexistent/x.json' } }), 'SLUICE_CONFIG', /does not exist/);
    const broken = files.write('broken.json', '{"restPort": 80,');
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: withToken, file: broken }), `config file ${broken}`, /is not valid JSON/);
    const array = files.write('array.json', '[1, 2]');
    assertConfigError(() => resolveCoordinatorConfig({ flags: {}, env: withToken, file: array }), `config file ${array}`, /must hold a JSON object/);
  });

  it('treats null as not set', () => {
    const file = files.write('null.json', { restPort: null });
    assert.equal(resolveCoordinatorConfig({ flags: {}, env: withToken, file }).restPort, 8081);
  });

  it('rejects an unknown flag handed to resolve', () => {
    assertConfigError(() => resolveCoordinatorConfig({ flags: { 'rest-prot': '1' }, env: withToken }), '--rest-prot', /unknown flag/);
    assertConfigError(() => resolveCoordinatorConfig({ flags: { restPort: '1' }, env: withToken }), '--restPort', /did you mean --rest-port\?/);
  });
});
