import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError } from '../shared/errors.ts';
import { parseRunOptions } from './run-options.ts';

function refusal(args: string[]): ConfigurationError {
  try {
    parseRunOptions(['app.ts', ...args]);
  } catch (error) {
    assert.ok(error instanceof ConfigurationError, String(error));
    return error;
  }
  assert.fail(`expected ${args.join(' ')} to be refused`);
}

describe('parseRunOptions', () => {
  it('takes the defaults', () => {
    const options = parseRunOptions(['examples/hot-items.ts']);
    assert.notEqual(options, 'help');
    if (options === 'help') return;
    assert.equal(options.jobName, 'hot-items');
    assert.equal(options.stateBackend, 'memory');
    assert.equal(options.checkpointIntervalMs, 60_000);
    assert.equal(options.retainedCheckpoints, 3);
    assert.equal(options.metrics, undefined);
    const served = parseRunOptions(['app.ts', '--metrics-port', '9249']);
    assert.ok(served !== 'help');
    assert.deepEqual(served.metrics, { host: '127.0.0.1', port: 9249 });
  });

  it('names the flag of a refused value once, before the problem', () => {
    const cases: Array<[string[], string, string]> = [
      [['--parallelism', 'four'], '--parallelism', '--parallelism: must be an integer from 1 to 32768, got "four"'],
      [['--retained-checkpoints', '0'], '--retained-checkpoints', '--retained-checkpoints: must be an integer from 1, got "0"'],
      [['--state-backend', 'rocksdb'], '--state-backend', '--state-backend: must be "memory" or "leveldb", got "rocksdb"'],
      [['--checkpoint-interval', 'soon'], '--checkpoint-interval', '--checkpoint-interval: must be a duration like 500ms, 10s or 1m, or "off", got "soon"'],
      [['--s3-endpoint', 'ftp://x'], '--s3-endpoint', '--s3-endpoint: must be an http:// or https:// URL'],
      [['--job-name', '.x'], '--job-name', '--job-name: may contain letters, digits, ".", "_" and "-" and must start with a letter or digit'],
      [['--metrics-port', '70000'], '--metrics-port', '--metrics-port: must be a port number from 0 to 65535 (0 picks a free one)'],
      [['--metrics-port', 'http'], '--metrics-port', '--metrics-port: must be a port number from 0 to 65535 (0 picks a free one)'],
      [['--metrics-host', '0.0.0.0'], '--metrics-host', '--metrics-host: serves nothing without --metrics-port'],
    ];
    for (const [args, field, message] of cases) {
      const error = refusal(args);
      assert.equal(error.field, field);
      assert.equal(error.message, message);
    }
  });
});
