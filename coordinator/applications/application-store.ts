// The applications as the HA store keeps them: one record per application
// (`application/<name>`), one per version, per operation and per snapshot. Every write is fenced
// by the leader's epoch (a deposed leader changes nothing and is told), and the actions on one
// application run one at a time (`locked`), so its record is read, checked and written whole.

import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logging.ts';
import { callReportingFencing } from '../ha/fenced-call.ts';
import type { HighAvailabilityServices, Leadership } from '../ha/high-availability-services.ts';
import {
  APPLICATION_KEY_PREFIX,
  applicationKey,
  operationKey,
  operationPrefix,
  snapshotKey,
  snapshotPrefix,
  versionKey,
  versionPrefix,
  type ApplicationOperation,
  type ApplicationRecord,
  type ApplicationSnapshot,
  type ApplicationVersion,
} from './application-model.ts';
import { checkApplicationTransition, type ApplicationStatus } from './application-states.ts';
import { ResourceNotFoundException } from './kinesis-analytics-errors.ts';

export interface ApplicationStoreOptions {
  readonly ha: HighAvailabilityServices;
  readonly leadership: Leadership;
  readonly clock: Clock;
  readonly log: Logger;
  /** A fenced write was refused: this coordinator is no longer the leader. */
  readonly onFenced: (error: Error) => void;
}

export class ApplicationStore {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** A fenced write was refused: nothing more is written. */
  deposed = false;

  constructor(private readonly options: ApplicationStoreOptions) {}

  async record(name: string): Promise<ApplicationRecord> {
    const value = await this.options.ha.get(applicationKey(name));
    if (value === undefined) throw new ResourceNotFoundException(`ApplicationName: no application named ${name}`);
    return JSON.parse(value) as ApplicationRecord;
  }

  async records(): Promise<ApplicationRecord[]> {
    return [...(await this.options.ha.getPrefix(APPLICATION_KEY_PREFIX)).values()].map((v) => JSON.parse(v) as ApplicationRecord);
  }

  async versions(name: string): Promise<ApplicationVersion[]> {
    return [...(await this.options.ha.getPrefix(versionPrefix(name))).values()].map((v) => JSON.parse(v) as ApplicationVersion);
  }

  async operations(name: string): Promise<ApplicationOperation[]> {
    return [...(await this.options.ha.getPrefix(operationPrefix(name))).values()].map((v) => JSON.parse(v) as ApplicationOperation);
  }

  async operation(name: string, id: string): Promise<ApplicationOperation | undefined> {
    const value = await this.options.ha.get(operationKey(name, id));
    return value === undefined ? undefined : (JSON.parse(value) as ApplicationOperation);
  }

  async snapshots(name: string): Promise<ApplicationSnapshot[]> {
    return [...(await this.options.ha.getPrefix(snapshotPrefix(name))).values()].map((v) => JSON.parse(v) as ApplicationSnapshot);
  }

  async snapshot(name: string, snapshotName: unknown): Promise<ApplicationSnapshot> {
    await this.record(name);
    const value = typeof snapshotName === 'string' ? await this.options.ha.get(snapshotKey(name, snapshotName)) : undefined;
    if (value === undefined) throw new ResourceNotFoundException(`SnapshotName: application ${name} has no snapshot named ${JSON.stringify(snapshotName)}`);
    return JSON.parse(value) as ApplicationSnapshot;
  }

  async updateRecord(name: string, change: (record: ApplicationRecord) => ApplicationRecord): Promise<void> {
    await this.locked(name, async () => this.putRecord(change(await this.record(name))));
  }

  putRecord(record: ApplicationRecord): Promise<void> {
    return this.put(applicationKey(record.name), record);
  }

  putVersion(version: ApplicationVersion): Promise<void> {
    return this.put(versionKey(version.application, version.versionId), version);
  }

  putOperation(operation: ApplicationOperation): Promise<void> {
    return this.put(operationKey(operation.application, operation.id), operation);
  }

  putSnapshot(snapshot: ApplicationSnapshot): Promise<void> {
    return this.put(snapshotKey(snapshot.application, snapshot.name), snapshot);
  }

  private put(key: string, value: object): Promise<void> {
    return this.fenced(() => this.options.ha.putFenced(this.options.leadership, key, JSON.stringify(value)));
  }

  private fenced<T>(write: () => Promise<T>): Promise<T> {
    return callReportingFencing(write, (error) => {
      this.deposed = true;
      this.options.onFenced(error);
    });
  }

  /** Runs `action` after every earlier one on the same application. */
  locked<T>(name: string, action: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(action);
    this.locks.set(name, next);
    next.finally(() => {
      if (this.locks.get(name) === next) this.locks.delete(name);
    }).catch(() => {});
    return next;
  }

  /** A record with a new status, checked against the table. */
  moved(record: ApplicationRecord, to: ApplicationStatus): ApplicationRecord {
    if (record.status === to) return record;
    checkApplicationTransition(record.name, record.status, to);
    this.options.log.info('application status changed', { application: record.name, from: record.status, to });
    return { ...record, status: to, updatedAtMs: this.options.clock.now() };
  }

  /** Deletes a key (fenced). */
  delete(key: string): Promise<void> {
    return this.fenced(() => this.options.ha.deleteFenced(this.options.leadership, key));
  }

  /** Every key under a prefix. */
  async keys(prefix: string): Promise<string[]> {
    return [...(await this.options.ha.getPrefix(prefix)).keys()];
  }

  /** Whether an application of that name exists. */
  async exists(name: string): Promise<boolean> {
    return (await this.options.ha.get(applicationKey(name))) !== undefined;
  }

  /** Whether the application has a snapshot of that name (in any status). */
  async hasSnapshot(name: string, snapshot: string): Promise<boolean> {
    return (await this.options.ha.get(snapshotKey(name, snapshot))) !== undefined;
  }
}
