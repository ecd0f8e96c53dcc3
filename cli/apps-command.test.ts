// `sluice apps` against the application service run in-process (the embedded HA store, jobs in
// memory) behind its kinesisanalyticsv2 handler on 127.0.0.1: a whole lifecycle through the
// command's entry function, with its output captured, and each kind of failure with its exit code.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { InMemoryAccessKeyStore } from '../coordinator/applications/access-keys.ts';
import { createKinesisAnalyticsHandler } from '../coordinator/applications/api-handler.ts';
import { ApplicationService } from '../coordinator/applications/application-service.ts';
import { TestingApplicationJobs } from '../coordinator/applications/testing/testing-application-jobs.ts';
import { EmbeddedHighAvailabilityServices } from '../coordinator/ha/embedded-high-availability-services.ts';
import { SystemClock } from '../shared/clock.ts';
import { InMemoryLogger } from '../shared/logging.ts';
import { appsCommand } from './apps-command.ts';

const KEY = { accessKeyId: 'AKIASLUICECLI', secretAccessKey: 'cli-secret-0123456789', actions: ['kinesisanalytics:*'], applications: ['*'] };

const servers: Server[] = [];
const services: ApplicationService[] = [];
after(async () => {
  // A disposed service ends the operations it still follows (a start whose job never runs).
  for (const service of services) service.dispose();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The application service on a port of its own; `apps(...)` runs `sluice apps` against it. */
async function startService(): Promise<{ jobs: TestingApplicationJobs; apps: (...args: string[]) => Promise<Run> }> {
  const clock = new SystemClock();
  const store = new EmbeddedHighAvailabilityServices();
  const jobs = new TestingApplicationJobs();
  const logger = new InMemoryLogger();
  const leadership = await store.campaign({ id: 'a', address: 'testing://a' });
  const service = new ApplicationService({ ha: store, leadership, clock, logger, jobs, region: 'us-east-1', accountId: '123456789012', onFenced: () => {} });
  const server = createServer(createKinesisAnalyticsHandler({ keys: new InMemoryAccessKeyStore({ keys: [KEY] }), clock, operations: service.handlers, logger }));
  servers.push(server);
  services.push(service);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const env = { SLUICE_COORDINATOR_URL: `127.0.0.1:${(server.address() as AddressInfo).port}`, AWS_REGION: 'us-east-1' };
  const apps = async (...args: string[]): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    const code = await appsCommand([...args, '--access-key-id', KEY.accessKeyId, '--secret-access-key', KEY.secretAccessKey], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text), isTTY: false },
      env,
    });
    return { code, stdout, stderr };
  };
  return { jobs, apps };
}

function succeeded(run: Run): Run {
  assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

describe('sluice apps', () => {
  it('create, list, start, describe, snapshot, update, rollback, operations, versions, stop, delete', async () => {
    const { jobs, apps } = await startService();
    const created = succeeded(
      await apps('create', 'counts', '--code', 's3://code/apps/counts/v1.zip?versionId=v1', '--parallelism', '2', '--property', 'counts.window=10s', '--state-backend', 'memory', '--checkpoint-interval-ms', '30000', '--tag', 'team=orders'),
    );
    assert.match(created.stdout, /^created application counts/);
    assert.match(created.stdout, /Status\s+READY/);

    const listed = succeeded(await apps('list'));
    assert.match(listed.stdout, /^NAME\s+STATUS\s+VERSION\s+RUNTIME\n/);
    assert.match(listed.stdout, /\ncounts\s+READY\s+1\s+SLUICE-1\n/);

    const started = succeeded(await apps('start', 'counts', '--restore', 'skip', '--wait'));
    assert.match(started.stderr, /waiting for StartApplication \w+ of counts/);
    assert.match(started.stdout, /StartApplication \w+ SUCCESSFUL; counts is RUNNING at version 1/);
    const [first] = jobs.live();
    assert.equal(first!.request.code, 's3://code/apps/counts/v1.zip?versionId=v1');
    assert.equal(first!.request.parallelism, 2);
    assert.equal(first!.request.stateBackend, 'memory');
    assert.deepEqual(first!.request.checkpointing, { enabled: true, intervalMs: 30_000, minPauseMs: 5_000 });
    assert.equal(first!.request.restoreFrom, undefined);

    const described = JSON.parse(succeeded(await apps('describe', 'counts', '--output', 'json')).stdout);
    assert.equal(described.ApplicationDetail.ApplicationStatus, 'RUNNING');
    assert.equal(described.ApplicationDetail.RuntimeEnvironment, 'SLUICE-1');
    assert.match(described.ApplicationDetail.CreateTimestamp, /^\d{4}-\d\d-\d\dT.*Z$/, 'dates as ISO strings');
    assert.equal(described.$metadata, undefined);
    const table = succeeded(await apps('describe', 'counts')).stdout;
    assert.match(table, /Code\s+s3:\/\/code\/apps\/counts\/v1\.zip\?versionId=v1\n/);
    assert.match(table, /Parallelism\s+2 \(CUSTOM; 1 per KPU; autoscaling off; current 2\)\n/);
    assert.match(table, /Checkpointing\s+on, every 30000 ms, min pause 5000 ms \(CUSTOM\)\n/);
    assert.match(table, /Properties\s+counts\.window=10s\n\s+sluice\.state\.backend=memory\n/);

    succeeded(await apps('snapshot', 'counts', '--name', 'before-v2', '--wait'));
    assert.match(succeeded(await apps('snapshots', 'counts')).stdout, /\nbefore-v2\s+READY\s+1\s+\d{4}-/);

    const updated = succeeded(await apps('update', 'counts', '--code', 's3://code/apps/counts/v2.zip', '--property', 'counts.window=20s', '--wait'));
    assert.match(updated.stdout, /counts: version 1 → 2 \(UPDATING\)\nUpdateApplication \w+ SUCCESSFUL; counts is RUNNING at version 2/);
    const [second] = jobs.live();
    assert.equal(second!.request.code, 's3://code/apps/counts/v2.zip');
    assert.deepEqual(second!.request.properties, { counts: { window: '20s' }, 'sluice.state': { backend: 'memory' } }, 'the properties given are merged into the current ones');
    assert.match(second!.request.restoreFrom ?? '', /^checkpoint:\/\/job-\d+\/chk-1$/);

    const rolledBack = succeeded(await apps('rollback', 'counts', '--wait', '--output', 'json'));
    const rollback = JSON.parse(rolledBack.stdout);
    assert.equal(rollback.ApplicationDetail.ApplicationVersionId, 3);
    assert.equal(rollback.ApplicationOperationInfoDetails.OperationStatus, 'SUCCESSFUL');
    assert.equal(jobs.live()[0]!.request.code, 's3://code/apps/counts/v1.zip?versionId=v1');

    const operations = succeeded(await apps('operations', 'counts')).stdout;
    assert.match(operations, /^ID\s+OPERATION\s+STATUS\s+START\s+END\n/);
    for (const operation of ['StartApplication', 'UpdateApplication', 'RollbackApplication']) assert.match(operations, new RegExp(`\\n\\w+\\s+${operation}\\s+SUCCESSFUL\\s+\\d{4}-\\S+\\s+\\d{4}-`));
    const updateId = /\n(\w+)\s+UpdateApplication/.exec(operations)![1]!;
    assert.match(succeeded(await apps('operations', 'counts', 'describe', updateId)).stdout, /Operation\s+UpdateApplication\n.*\nVersion\s+1 → 2\n/s);
    assert.match(succeeded(await apps('versions', 'counts')).stdout, /^VERSION\s+STATUS\n3\s+RUNNING\n2\s+READY\n1\s+READY\n$/);
    assert.match(succeeded(await apps('versions', 'counts', 'describe', '2')).stdout, /Code\s+s3:\/\/code\/apps\/counts\/v2\.zip\n/);

    const stopped = succeeded(await apps('stop', 'counts', '--wait'));
    assert.match(stopped.stdout, /StopApplication \w+ SUCCESSFUL; counts is READY/);
    assert.equal(jobs.live().length, 0);

    assert.match(succeeded(await apps('delete', 'counts')).stdout, /^deleted application counts\n$/);
    const gone = await apps('describe', 'counts');
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'ResourceNotFoundException: ApplicationName: no application named counts\n');
  });

  it('a lifecycle command without --wait prints its operation id', async () => {
    const { apps } = await startService();
    succeeded(await apps('create', 'counts', '--code', 's3://code/apps/counts/v1.zip'));
    const started = succeeded(await apps('start', 'counts'));
    assert.match(started.stdout, /operation (\w+) \(StartApplication\) is in progress; --wait waits for it, or see: sluice apps operations counts describe \1\n/);
    const json = JSON.parse(succeeded(await apps('stop', 'counts', '--force', '--output', 'json')).stdout);
    assert.match(json.OperationId, /^\w+$/);
  });

  it('the service refusing is named by its exception, exit 1', async () => {
    const { apps } = await startService();
    const unknown = await apps('start', 'nope', '--wait');
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'ResourceNotFoundException: ApplicationName: no application named nope\n']);

    succeeded(await apps('create', 'counts', '--code', 's3://code/apps/counts/v1.zip'));
    const stale = await apps('update', 'counts', '--version', '7', '--parallelism', '4');
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /^ConcurrentModificationException: CurrentApplicationVersionId: application counts is at version 1, not 7/);
    assert.match(succeeded(await apps('describe', 'counts')).stdout, /Version\s+1\n/);

    const duplicate = await apps('create', 'counts', '--code', 's3://code/apps/counts/v1.zip');
    assert.match(duplicate.stderr, /^ResourceInUseException: ApplicationName: an application named counts exists already\n$/);
  });

  it('an operation that fails under --wait exits 1 with its error', async () => {
    const { apps } = await startService();
    succeeded(await apps('create', 'counts', '--code', 's3://code/apps/counts/v1.zip'));
    succeeded(await apps('start', 'counts', '--wait'));
    const update = await apps('update', 'counts', '--code', 's3://code/apps/crash.zip', '--wait');
    assert.equal(update.code, 1, update.stderr);
    assert.match(update.stderr, /sluice apps: UpdateApplication \w+ FAILED: .*failed to start: a subtask failed: boom; see: sluice apps operations counts describe \w+\n$/);
  });

  it('--wait gives up after --timeout-ms, saying the operation goes on', async () => {
    const { jobs, apps } = await startService();
    jobs.runAtOnce = false;
    succeeded(await apps('create', 'counts', '--code', 's3://code/apps/counts/v1.zip'));
    const start = await apps('start', 'counts', '--wait', '--timeout-ms', '300');
    assert.equal(start.code, 1);
    assert.match(start.stderr, /StartApplication \w+ of counts is still IN_PROGRESS after 300 ms \(--timeout-ms\); it goes on: sluice apps operations counts describe \w+\n$/);
  });

  it('bad usage names the flag or argument, exit 2', async () => {
    const { apps } = await startService();
    const cases: Array<[string[], RegExp]> = [
      [['create', 'counts', '--code', 's3://code/k.zip', '--bogus', '1'], /--bogus: Unknown option '--bogus'; see sluice apps create --help/],
      [['create', 'counts'], /--code: missing/],
      [['create', 'counts', '--code', 'app.zip'], /--code: "app\.zip" is not an S3 object URL/],
      [['create', 'counts', '--code', 's3://code/k.zip', '--parallelism', '0'], /--parallelism: "0" is not a positive integer/],
      [['create', 'counts', '--code', 's3://code/k.zip', '--autoscaling', 'yes'], /--autoscaling: on or off, got "yes"/],
      [['describe'], /NAME: missing; usage: sluice apps describe NAME/],
      [['snapshot', 'counts'], /--name: missing/],
      [['snapshots', 'counts', 'remove', 's'], /remove: expected list, describe SNAPSHOT or delete SNAPSHOT/],
      [['update', 'counts'], /update: nothing to change/],
      [['list', '--output', 'yaml'], /--output: table or json, got "yaml"/],
      [['launch'], /launch: not a command of sluice apps/],
    ];
    for (const [args, message] of cases) {
      const run = await apps(...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  it('--help lists the commands, and each command its options', async () => {
    const { apps } = await startService();
    const help = succeeded(await apps('--help')).stdout;
    for (const command of ['create', 'describe', 'list', 'update', 'start', 'stop', 'delete', 'snapshot', 'snapshots', 'rollback', 'versions', 'operations']) {
      assert.match(help, new RegExp(`\\n  ${command}\\b`), `sluice apps --help does not list ${command}`);
    }
    const create = succeeded(await apps('create', '--help')).stdout;
    for (const flag of ['--code', '--parallelism', '--parallelism-per-kpu', '--autoscaling', '--checkpoint-interval-ms', '--min-pause-ms', '--checkpointing', '--property', '--snapshots', '--rollback', '--state-backend', '--tag', '--endpoint', '--output']) {
      assert.ok(create.includes(flag), `sluice apps create --help does not mention ${flag}`);
    }
    assert.match(succeeded(await apps('start', '--help')).stdout, /--restore skip\|latest\|SNAPSHOT[\s\S]*--wait[\s\S]*--timeout-ms/);
  });
});
