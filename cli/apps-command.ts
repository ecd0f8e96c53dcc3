// `sluice apps`: the managed applications of a coordinator through its kinesisanalyticsv2 API,
// with the AWS SDK's own client, so what works here works from any AWS tool. One command, one
// or two calls (a delete reads CreateTimestamp first, an update the current version); lifecycle
// commands print their operation id and, with --wait, follow it to its end.

import * as sdk from '@aws-sdk/client-kinesis-analytics-v2';
import { ConfigurationError, errorChainMessage, SluiceError } from '../shared/errors.ts';
import { parseAppsOptions, type AppsOptions, type AppsRequest, type WaitOptions } from './apps-options.ts';
import {
  applicationsTable,
  applicationText,
  jsonText,
  operationsTable,
  operationText,
  snapshotsTable,
  snapshotText,
  versionsTable,
} from './apps-output.ts';
import { applicationConfigurationUpdateOf, createApplicationInputOf, runConfigurationOf, updateNeedsCurrentConfiguration } from './apps-requests.ts';
import { waitForOperation, waitForSnapshot, type ProgressStream } from './apps-wait.ts';

export interface AppsIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressStream;
  readonly env: NodeJS.ProcessEnv;
}

/** An operation (or snapshot) that `--wait` followed ended FAILED or CANCELLED. */
export class ApplicationOperationFailedError extends SluiceError {
  override readonly domain = 'user' as const;
}

/** Runs `sluice apps <args>`; answers the exit code (2: bad usage, 1: the service refused or the operation failed). */
export async function appsCommand(args: readonly string[], io: AppsIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let options: AppsOptions;
  try {
    const parsed = parseAppsOptions(args, io.env);
    if ('help' in parsed) {
      io.stdout.write(parsed.help);
      return 0;
    }
    options = parsed;
  } catch (error) {
    return reportFailure(error, io, undefined);
  }
  const { endpoint, region, credentials } = options.connection;
  const client = new sdk.KinesisAnalyticsV2Client({ endpoint, region, ...(credentials === undefined ? {} : { credentials }) });
  try {
    await new AppsCommandRun(client, options, io).run();
    return 0;
  } catch (error) {
    return reportFailure(error, io, endpoint);
  } finally {
    client.destroy();
  }
}

/** Names the failure on stderr: the service's exception as `<Name>: <message>`, ours as `sluice apps: …`. */
function reportFailure(error: unknown, io: AppsIo, endpoint: string | undefined): number {
  if (error instanceof sdk.KinesisAnalyticsV2ServiceException) {
    io.stderr.write(`${error.name}: ${error.message}\n`);
    return 1;
  }
  if (error instanceof ConfigurationError) {
    io.stderr.write(`sluice apps: ${error.message}\n`);
    return 2;
  }
  const name = error instanceof Error ? error.name : '';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (name === 'CredentialsProviderError') {
    io.stderr.write(`sluice apps: no credentials to sign with (${errorChainMessage(error)}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or give --access-key-id and --secret-access-key\n`);
    return 2;
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    io.stderr.write(`sluice apps: cannot reach the coordinator at ${endpoint}: ${errorChainMessage(error)} (is it running? --endpoint or SLUICE_COORDINATOR_URL names it)\n`);
    return 1;
  }
  io.stderr.write(`sluice apps: ${errorChainMessage(error)}\n`);
  return 1;
}

class AppsCommandRun {
  constructor(
    private readonly client: sdk.KinesisAnalyticsV2Client,
    private readonly options: AppsOptions,
    private readonly io: AppsIo,
  ) {}

  async run(): Promise<void> {
    const request = this.options.request;
    const client = this.client;
    switch (request.command) {
      case 'list': {
        const summaries: sdk.ApplicationSummary[] = [];
        for await (const page of sdk.paginateListApplications({ client }, {})) summaries.push(...(page.ApplicationSummaries ?? []));
        return this.print({ ApplicationSummaries: summaries }, () => applicationsTable(summaries));
      }
      case 'describe': {
        const response = await client.send(new sdk.DescribeApplicationCommand({ ApplicationName: request.name }));
        return this.print(response, () => applicationText(answered(response.ApplicationDetail, 'ApplicationDetail')));
      }
      case 'create': {
        const response = await client.send(new sdk.CreateApplicationCommand(createApplicationInputOf(request)));
        return this.print(response, () => `created application ${request.name}; start it with: sluice apps start ${request.name}\n\n${applicationText(answered(response.ApplicationDetail, 'ApplicationDetail'))}`);
      }
      case 'update': {
        const current = request.version === undefined || updateNeedsCurrentConfiguration(request) ? await this.describe(request.name) : undefined;
        const version = request.version ?? current!.ApplicationVersionId!;
        const response = await client.send(
          new sdk.UpdateApplicationCommand({ ApplicationName: request.name, CurrentApplicationVersionId: version, ApplicationConfigurationUpdate: applicationConfigurationUpdateOf(request, current) }),
        );
        const detail = answered(response.ApplicationDetail, 'ApplicationDetail');
        return this.lifecycle(request.name, 'UpdateApplication', response, request.wait, `${request.name}: version ${version} → ${detail.ApplicationVersionId} (${detail.ApplicationStatus})`);
      }
      case 'rollback': {
        const version = request.version ?? (await this.describe(request.name)).ApplicationVersionId!;
        const response = await client.send(new sdk.RollbackApplicationCommand({ ApplicationName: request.name, CurrentApplicationVersionId: version }));
        const detail = answered(response.ApplicationDetail, 'ApplicationDetail');
        return this.lifecycle(request.name, 'RollbackApplication', response, request.wait, `${request.name}: version ${version} rolled back to ${detail.ApplicationVersionRolledBackTo}, as version ${detail.ApplicationVersionId} (${detail.ApplicationStatus})`);
      }
      case 'start': {
        const runConfiguration = runConfigurationOf(request);
        const response = await client.send(new sdk.StartApplicationCommand({ ApplicationName: request.name, ...(runConfiguration === undefined ? {} : { RunConfiguration: runConfiguration }) }));
        return this.lifecycle(request.name, 'StartApplication', response, request.wait, `${request.name}: starting`);
      }
      case 'stop': {
        const response = await client.send(new sdk.StopApplicationCommand({ ApplicationName: request.name, ...(request.force ? { Force: true } : {}) }));
        return this.lifecycle(request.name, request.force ? 'ForceStopApplication' : 'StopApplication', response, request.wait, `${request.name}: stopping`);
      }
      case 'delete': {
        const { CreateTimestamp } = await this.describe(request.name);
        const response = await client.send(new sdk.DeleteApplicationCommand({ ApplicationName: request.name, CreateTimestamp }));
        return this.print(response, () => `deleted application ${request.name}\n`);
      }
      case 'snapshot':
        return this.snapshot(request);
      case 'snapshots':
        return this.snapshots(request);
      case 'versions': {
        if (request.versionId !== undefined) {
          const response = await client.send(new sdk.DescribeApplicationVersionCommand({ ApplicationName: request.name, ApplicationVersionId: request.versionId }));
          return this.print(response, () => applicationText(answered(response.ApplicationVersionDetail, 'ApplicationVersionDetail')));
        }
        const versions: sdk.ApplicationVersionSummary[] = [];
        for await (const page of sdk.paginateListApplicationVersions({ client }, { ApplicationName: request.name })) versions.push(...(page.ApplicationVersionSummaries ?? []));
        return this.print({ ApplicationVersionSummaries: versions }, () => versionsTable(versions));
      }
      case 'operations': {
        if (request.operationId !== undefined) {
          const operationId = request.operationId;
          const response = await client.send(new sdk.DescribeApplicationOperationCommand({ ApplicationName: request.name, OperationId: operationId }));
          return this.print(response, () => operationText(operationId, answered(response.ApplicationOperationInfoDetails, 'ApplicationOperationInfoDetails')));
        }
        const operations: sdk.ApplicationOperationInfo[] = [];
        for await (const page of sdk.paginateListApplicationOperations({ client }, { ApplicationName: request.name })) operations.push(...(page.ApplicationOperationInfoList ?? []));
        return this.print({ ApplicationOperationInfoList: operations }, () => operationsTable(operations));
      }
    }
  }

  private async snapshot(request: Extract<AppsRequest, { command: 'snapshot' }>): Promise<void> {
    const target = { application: request.name, snapshotName: request.snapshotName };
    const response = await this.client.send(new sdk.CreateApplicationSnapshotCommand({ ApplicationName: request.name, SnapshotName: request.snapshotName }));
    if (!request.wait.wait) {
      return this.print(response, () => `snapshot ${request.snapshotName} of ${request.name} is being taken; see: sluice apps snapshots ${request.name} describe ${request.snapshotName}\n`);
    }
    const details = await waitForSnapshot(this.client, target, request.wait.timeoutMs, this.io.stderr);
    this.print({ ...response, SnapshotDetails: details }, () => snapshotText(details));
    if (details.SnapshotStatus !== 'READY') throw new ApplicationOperationFailedError(`snapshot ${request.snapshotName} of ${request.name} is ${details.SnapshotStatus}; the coordinator's log says why`);
  }

  private async snapshots(request: Extract<AppsRequest, { command: 'snapshots' }>): Promise<void> {
    const client = this.client;
    if (request.action === 'list') {
      const snapshots: sdk.SnapshotDetails[] = [];
      for await (const page of sdk.paginateListApplicationSnapshots({ client }, { ApplicationName: request.name })) snapshots.push(...(page.SnapshotSummaries ?? []));
      return this.print({ SnapshotSummaries: snapshots }, () => snapshotsTable(snapshots));
    }
    const described = await client.send(new sdk.DescribeApplicationSnapshotCommand({ ApplicationName: request.name, SnapshotName: request.snapshotName }));
    if (request.action === 'describe') return this.print(described, () => snapshotText(answered(described.SnapshotDetails, 'SnapshotDetails')));
    const response = await client.send(
      new sdk.DeleteApplicationSnapshotCommand({ ApplicationName: request.name, SnapshotName: request.snapshotName, SnapshotCreationTimestamp: described.SnapshotDetails?.SnapshotCreationTimestamp }),
    );
    return this.print(response, () => `deleted snapshot ${request.snapshotName} of ${request.name}\n`);
  }

  /**
   * A lifecycle command's answer: its operation id, or with --wait the operation's end (exit 1
   * when it did not succeed). A change to a READY application has no operation: it is done.
   */
  private async lifecycle(name: string, operation: string, response: { OperationId?: string }, wait: WaitOptions, summary: string): Promise<void> {
    const operationId = response.OperationId;
    if (operationId === undefined) return this.print(response, () => `${summary}\n`);
    if (!wait.wait) {
      return this.print(response, () => `${summary}: operation ${operationId} (${operation}) is in progress; --wait waits for it, or see: sluice apps operations ${name} describe ${operationId}\n`);
    }
    const details = await waitForOperation(this.client, { application: name, operationId, operation }, wait.timeoutMs, this.io.stderr);
    const ended = `${details.Operation ?? operation} ${operationId} ${details.OperationStatus}`;
    if (details.OperationStatus === 'SUCCESSFUL') {
      const detail = this.options.output === 'json' ? undefined : await this.describe(name);
      return this.print({ ...response, ApplicationOperationInfoDetails: details }, () => `${summary}\n${ended}; ${name} is ${detail?.ApplicationStatus} at version ${detail?.ApplicationVersionId}\n`);
    }
    this.print({ ...response, ApplicationOperationInfoDetails: details }, () => `${summary}\n${ended}\n`);
    const failure = details.OperationFailureDetails?.ErrorInfo?.ErrorString;
    throw new ApplicationOperationFailedError(`${ended}${failure === undefined ? '' : `: ${failure}`}; see: sluice apps operations ${name} describe ${operationId}`);
  }

  private async describe(name: string): Promise<sdk.ApplicationDetail> {
    return answered((await this.client.send(new sdk.DescribeApplicationCommand({ ApplicationName: name }))).ApplicationDetail, 'ApplicationDetail');
  }

  private print(response: object, human: () => string): void {
    this.io.stdout.write(this.options.output === 'json' ? jsonText(response) : human());
  }
}

/** A field the API always answers with; its absence means the endpoint is not this API. */
function answered<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new SluiceError(`the service answered without ${field}: is --endpoint a Sluice coordinator?`);
  return value;
}
