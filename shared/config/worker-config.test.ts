import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveWorkerConfig } from './worker-config.ts';
import { describeConfig } from './describe-config.ts';
import { TOKEN, assertConfigError, tempFiles } from './testing/config-test-support.ts';
import { applyObjectStoreSettings } from './object-store-fields.ts';

const files = tempFiles();
after(() => files.cleanup());

const base = { SLUICE_CLUSTER_TOKEN: TOKEN, SLUICE_COORDINATORS: '127.0.0.1:6123' };

describe('resolveWorkerConfig', () => {
  it('applies the defaults', () => {
    const config = resolveWorkerConfig({ flags: {}, env: base });
    const { id, stateDirectory, ...rest } = config;
    assert.match(id, /^worker-[A-Za-z0-9._-]+-\d+$/);
    assert.equal(stateDirectory, `./sluice-data/state/${id}`);
    assert.deepEqual(rest, {
      host: '127.0.0.1',
      rpcPort: 0,
      dataPort: 0,
      metricsPort: 0,
      coordinators: ['127.0.0.1:6123'],
      clusterToken: TOKEN,
      clusterTokenFile: undefined,
      allowUnauthenticated: false,
      kpus: 1,
      parallelismPerKpu: 1,
      slots: 1,
      stateBackend: 'memory',
      heartbeatIntervalMs: 1_000,
      checkpointRateLimitMb: 6,
      stateCacheEntries: undefined,
      s3Endpoint: undefined,
      s3Region: undefined,
    });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.coordinators));
  });

  it('takes the LevelDB cache size, and refuses one that is not a positive integer, naming the flag', () => {
    assert.equal(resolveWorkerConfig({ flags: { 'state-cache-entries': '300000' }, env: base }).stateCacheEntries, 300_000);
    assert.throws(() => resolveWorkerConfig({ flags: { 'state-cache-entries': '0' }, env: base }), /state-cache-entries|stateCacheEntries/);
  });

  it('takes the S3 endpoint from a flag over the variable the object stores read, and checks it is a URL', () => {
    const env: NodeJS.ProcessEnv = { ...base, SLUICE_S3_ENDPOINT: 'http://127.0.0.1:1' };
    const config = resolveWorkerConfig({ flags: { 's3-endpoint': 'http://127.0.0.1:19000', 's3-region': 'eu-west-1' }, env });
    applyObjectStoreSettings(config, env);
    assert.equal(env.SLUICE_S3_ENDPOINT, 'http://127.0.0.1:19000');
    assert.equal(env.SLUICE_S3_REGION, 'eu-west-1');
    assertConfigError(() => resolveWorkerConfig({ flags: { 's3-endpoint': 'localhost:9000' }, env: base }), '--s3-endpoint', /is not an http:\/\/ or https:\/\/ URL/);
  });

  it('has kpus × parallelismPerKpu slots and a state directory named by its id', () => {
    const file = files.write('worker.json', { kpus: 4, stateBackend: 'leveldb' });
    const config = resolveWorkerConfig({ flags: { 'parallelism-per-kpu': '2', id: 'worker-7' }, env: base, file });
    assert.equal(config.slots, 8);
    assert.equal(config.stateBackend, 'leveldb');
    assert.equal(config.stateDirectory, './sluice-data/state/worker-7');
  });

  it('takes each field from the highest source', () => {
    const file = files.write('kpus.json', { kpus: 3, dataPort: 7003, heartbeatIntervalMs: 300 });
    const env = { ...base, SLUICE_KPUS: '2', SLUICE_DATA_PORT: '7002' };
    const config = resolveWorkerConfig({ flags: { kpus: '1' }, env, file });
    assert.equal(config.kpus, 1);
    assert.equal(config.dataPort, 7002);
    assert.equal(config.heartbeatIntervalMs, 300);
  });

  it('requires the coordinators and checks each host:port', () => {
    assertConfigError(() => resolveWorkerConfig({ flags: {}, env: { SLUICE_CLUSTER_TOKEN: TOKEN } }), 'coordinators', /set --coordinators or SLUICE_COORDINATORS/);
    const config = resolveWorkerConfig({ flags: { coordinators: 'c1.internal:6123, [fd00::2]:6123' }, env: base });
    assert.deepEqual(config.coordinators, ['c1.internal:6123', '[fd00::2]:6123']);
    assertConfigError(() => resolveWorkerConfig({ flags: { coordinators: 'c1:6123,c2' }, env: base }), '--coordinators', /"c2" is not host:port/);
    assertConfigError(() => resolveWorkerConfig({ flags: { coordinators: 'c1:0' }, env: base }), '--coordinators', /"c1:0" is not host:port/);
  });

  it('names the field and source of a bad value', () => {
    assertConfigError(() => resolveWorkerConfig({ flags: {}, env: { ...base, SLUICE_STATE_BACKEND: 'rocksdb' } }), 'SLUICE_STATE_BACKEND', /"rocksdb" is not one of memory, leveldb/);
    assertConfigError(() => resolveWorkerConfig({ flags: { kpus: '0' }, env: base }), '--kpus', /"0" is not an integer of at least 1/);
    const file = files.write('bad-port.json', { metricsPort: -1 });
    assertConfigError(() => resolveWorkerConfig({ flags: {}, env: base, file }), `config file ${file}: metricsPort`, /-1 is not a port/);
  });

  it('requires a cluster token as the coordinator does, or reads it from a file', () => {
    assertConfigError(() => resolveWorkerConfig({ flags: {}, env: { SLUICE_COORDINATORS: 'c:1' } }), 'clusterToken', /set --cluster-token or SLUICE_CLUSTER_TOKEN/);
    assert.equal(resolveWorkerConfig({ flags: { 'allow-unauthenticated': true }, env: { SLUICE_COORDINATORS: 'c:1' } }).clusterToken, undefined);
    const path = files.write('token', `${TOKEN}\n`);
    assert.equal(resolveWorkerConfig({ flags: { 'cluster-token-file': path }, env: { SLUICE_COORDINATORS: 'c:1' } }).clusterToken, TOKEN);
  });

  it('rejects coordinator-only keys and flags', () => {
    const file = files.write('coordinator-keys.json', { restPort: 8081 });
    assertConfigError(() => resolveWorkerConfig({ flags: {}, env: base, file }), `config file ${file}: restPort`, /unknown key/);
    assertConfigError(() => resolveWorkerConfig({ flags: { 'rest-port': '8081' }, env: base }), '--rest-port', /unknown flag/);
  });

  it('is described with the token redacted', () => {
    const description = describeConfig(resolveWorkerConfig({ flags: {}, env: base }));
    assert.equal(description.clusterToken, '***');
    assert.equal(description.slots, 1);
    assert.doesNotMatch(JSON.stringify(description), new RegExp(TOKEN));
  });
});
