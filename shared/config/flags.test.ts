import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COORDINATOR_FLAGS, COORDINATOR_USAGE, resolveCoordinatorConfig } from './coordinator-config.ts';
import { WORKER_FLAGS, WORKER_USAGE } from './worker-config.ts';
import { parseFlags } from './flags.ts';
import { TOKEN, assertConfigError } from './testing/config-test-support.ts';

describe('parseFlags', () => {
  it('reads --name value, --name=value, boolean flags and positionals', () => {
    assert.deepEqual(parseFlags(['--rest-port', '8082', '--host=0.0.0.0', '--allow-unauthenticated', 'extra', '--id', 'c-1']), {
      flags: { 'rest-port': '8082', host: '0.0.0.0', 'allow-unauthenticated': true, id: 'c-1' },
      positionals: ['extra'],
    });
  });

  it('keeps = inside a value and takes a value that starts with a single dash', () => {
    const { flags } = parseFlags(['--restart-strategy={"kind":"none"}', '--cluster-token', '-starts-with-dash-0123']);
    assert.equal(flags['restart-strategy'], '{"kind":"none"}');
    assert.equal(flags['cluster-token'], '-starts-with-dash-0123');
  });

  it('lets a boolean flag be set false with =', () => {
    assert.deepEqual(parseFlags(['--allow-unauthenticated=false']).flags, { 'allow-unauthenticated': 'false' });
  });

  it('stops at -- and reads -h and --help', () => {
    assert.deepEqual(parseFlags(['-h', '--', '--rest-port', 'x']), { flags: { help: true }, positionals: ['--rest-port', 'x'] });
    assert.deepEqual(parseFlags(['--help']).flags, { help: true });
  });

  it('rejects unknown flags by name', () => {
    assertConfigError(() => parseFlags(['--rest-prot', '1']), '--rest-prot', /unknown flag/);
    assertConfigError(() => parseFlags(['-p', '1']), '-p', /unknown flag/);
    assertConfigError(() => parseFlags(['--rest-port', '1'], WORKER_FLAGS), '--rest-port', /unknown flag/);
    assertConfigError(() => parseFlags(['--coordinators', 'a:1'], COORDINATOR_FLAGS), '--coordinators', /unknown flag/);
  });

  it('rejects a flag without its value and a flag given twice', () => {
    assertConfigError(() => parseFlags(['--rest-port']), '--rest-port', /needs a value \(--rest-port PORT/);
    assertConfigError(() => parseFlags(['--rest-port', '--host', 'h']), '--rest-port', /needs a value/);
    assertConfigError(() => parseFlags(['--rest-port', '1', '--rest-port=2']), '--rest-port', /more than once/);
  });

  it('feeds resolveCoordinatorConfig', () => {
    const { flags } = parseFlags(['--rest-port', '0', '--cluster-token', TOKEN, '--retained-checkpoints=5']);
    const config = resolveCoordinatorConfig({ flags, env: {} });
    assert.equal(config.restPort, 0);
    assert.equal(config.retainedCheckpoints, 5);
  });
});

describe('usage text', () => {
  for (const [name, usage, flags] of [
    ['coordinator', COORDINATOR_USAGE, COORDINATOR_FLAGS],
    ['worker', WORKER_USAGE, WORKER_FLAGS],
  ] as const) {
    it(`lists every ${name} flag with its environment variable and its default`, () => {
      for (const flag of flags) {
        assert.match(usage, new RegExp(`^  --${flag.name}\\b`, 'm'), flag.name);
        if (flag.env) assert.match(usage, new RegExp(`env ${flag.env}\\b`), flag.env);
        if (flag.defaultText !== undefined) assert.ok(usage.replace(/\s+/g, ' ').includes(`Default: ${flag.defaultText}.`), `${flag.name} default`);
      }
      for (const line of usage.split('\n')) assert.ok(line.length <= 100, `line too long: ${line}`);
    });
  }

  it('shows the defaults that matter', () => {
    assert.match(COORDINATOR_USAGE, /--rest-port PORT\s+Port of the REST API and web UI. Default: 8081\.\n\s+env SLUICE_REST_PORT, file key "restPort"/);
    assert.match(WORKER_USAGE, /--coordinators LIST[^]*Required\.\n\s+env SLUICE_COORDINATORS/);
  });
});
