// The `sluice` command as a user meets it: bad flags and properties name the flag, applications
// that do not load or build an invalid pipeline fail at start with the problem, and an unbounded
// job stops cleanly on SIGINT, committing what it processed.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const sluice = join(root, 'bin', 'sluice.mjs');
const fixture = (name: string) => join(root, 'cli', 'testing', name);
const work = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sluiceRun(args: string[], whileRunning?: (child: ReturnType<typeof spawn>) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [sluice, ...args], { cwd: work, env: { ...process.env, SLUICE_LOG_LEVEL: 'info' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timeout);
      resolve({ code, stdout, stderr });
    });
    whileRunning?.(child);
  });
}

describe('sluice run: bad input', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a parallelism that is not a number', ['--parallelism', 'four'], /--parallelism: .*integer.*"four"/],
    ['a max parallelism above 32768', ['--max-parallelism', '40000'], /--max-parallelism: .*32768/],
    ['an unknown state backend', ['--state-backend', 'rocksdb'], /--state-backend: .*"memory" or "leveldb".*"rocksdb"/],
    ['a checkpoint interval that is not a duration', ['--checkpoint-interval', 'soon'], /--checkpoint-interval: .*"soon"/],
    ['a property without a group', ['--property', 'minBids=3'], /--property: expected GROUP\.KEY=VALUE, got "minBids=3"/],
    ['an unknown flag', ['--paralelism', '2'], /--paralelism/],
  ];
  for (const [what, flags, message] of cases) {
    it(`${what} is refused, naming the flag (exit 2)`, async () => {
      const result = await sluiceRun(['run', fixture('invalid-pipeline-app.ts'), ...flags]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }

  it('an application file that does not exist is named', async () => {
    const result = await sluiceRun(['run', 'no-such-app.ts']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /application no-such-app\.ts: no such file/);
  });

  it("an application that fails to load reports the loader's error", async () => {
    const result = await sluiceRun(['run', fixture('broken-module-app.ts')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /broken-module-app\.ts failed to load: this module is broken on purpose/);
  });

  it('an invalid pipeline fails at start, naming the problem', async () => {
    const result = await sluiceRun(['run', fixture('invalid-pipeline-app.ts'), '--checkpoint-dir', join(work, 'invalid')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /duplicate uid "twice"/);
  });

  it('--restore latest with no checkpoint says where it looked', async () => {
    const dir = join(work, 'empty-checkpoints');
    const result = await sluiceRun(['run', fixture('invalid-pipeline-app.ts'), '--checkpoint-dir', dir, '--restore', 'latest']);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(`--restore latest: ${dir} has no completed checkpoint`), result.stderr);
  });

  it('--restore of a directory that is not a checkpoint is refused', async () => {
    const result = await sluiceRun(['run', fixture('invalid-pipeline-app.ts'), '--restore', root]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--restore restore path .* is not a checkpoint or snapshot: it has no _metadata/);
  });

  it('--help explains every flag', async () => {
    const result = await sluiceRun(['run', '--help']);
    assert.equal(result.code, 0);
    for (const flag of ['--parallelism', '--max-parallelism', '--state-backend', '--checkpoint-interval', '--checkpoint-dir', '--restore', '--property']) {
      assert.ok(result.stdout.includes(flag), `--help does not mention ${flag}`);
    }
  });
});

describe('sluice run: an unbounded job and Ctrl-C', () => {
  it('SIGINT takes a last checkpoint, commits the output and exits 0', async () => {
    const output = join(work, 'unbounded-output');
    const checkpoints = join(work, 'unbounded-checkpoints');
    let sentAfterMs = 0;
    const result = await sluiceRun(
      ['run', fixture('unbounded-counter-app.ts'), '--checkpoint-dir', checkpoints, '--checkpoint-interval', '10m', '--property', `test.output=${output}`],
      (child) => {
        const started = Date.now();
        // Wait until the job has started producing (its in-progress part file exists), then stop it.
        const poll = setInterval(() => {
          const files = existsSync(output) ? readdirSync(output) : [];
          if (files.some((f) => f.endsWith('.inprogress')) || Date.now() - started > 30_000) {
            clearInterval(poll);
            sentAfterMs = Date.now() - started;
            child.kill('SIGINT');
          }
        }, 50);
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /stopping: taking a last checkpoint/);
    assert.match(result.stderr, /"state":"stopped"/);
    const committed = readdirSync(output).filter((f) => f.endsWith('.jsonl') && !f.startsWith('.'));
    const lines = committed.flatMap((f) => readFileSync(join(output, f), 'utf8').split('\n').filter(Boolean));
    assert.ok(lines.length > 0, `nothing was committed (SIGINT after ${sentAfterMs} ms)`);
    assert.deepEqual(readdirSync(output).filter((f) => f.startsWith('.')), [], 'an in-progress file was left behind');
    // The periodic interval is 10 minutes, so the one checkpoint is the stop's, and it is not final.
    const chk = readdirSync(checkpoints).filter((d) => existsSync(join(checkpoints, d, '_metadata')));
    assert.equal(chk.length, 1);
    const metadata = JSON.parse(readFileSync(join(checkpoints, chk[0]!, '_metadata'), 'utf8'));
    assert.equal(metadata.final, false);
  });
});
