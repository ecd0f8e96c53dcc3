// State time-to-live, with Flink's names and meaning (StateTtlConfig): a state descriptor with
// `enableTimeToLive(config)` keeps each value (each list element, each map entry) with the
// processing time it was last written, or also read; once `ttlMs` has passed since then, the value
// is expired: reads no longer see it (or see it once more, if not cleaned up yet) and cleanup
// removes it. Processing time is the operator's clock.
//
// Cleanup, as in Flink: an expired value is removed when it is read; `cleanupFullSnapshot()` leaves
// expired values out of snapshots; in the background (on by default, `disableCleanupInBackground()`
// turns it off), the in-memory backend checks a few entries on every state access
// (`cleanupIncrementally`) and the LevelDB backend sweeps its database a bounded number of
// entries at a time (`cleanupInLevelDbSweep`, in place of Flink's RocksDB compaction filter).

import { InvalidPipelineError } from '../errors.ts';

/** When a value's timestamp is renewed (Flink's StateTtlConfig.UpdateType). */
export const UpdateType = {
  /** On creation and on every write. */
  OnCreateAndWrite: 'OnCreateAndWrite',
  /** On creation, writes and reads. */
  OnReadAndWrite: 'OnReadAndWrite',
} as const;
export type UpdateType = (typeof UpdateType)[keyof typeof UpdateType];

/** Whether a read may see an expired value (Flink's StateTtlConfig.StateVisibility). */
export const StateVisibility = {
  /** An expired value is never returned. */
  NeverReturnExpired: 'NeverReturnExpired',
  /** An expired value is returned if no cleanup removed it yet (the read then removes it). */
  ReturnExpiredIfNotCleanedUp: 'ReturnExpiredIfNotCleanedUp',
} as const;
export type StateVisibility = (typeof StateVisibility)[keyof typeof StateVisibility];

/** Flink's IncrementalCleanupStrategy: entries checked per state access (and per record, if asked). */
export interface IncrementalCleanupStrategy {
  readonly cleanupSize: number;
  readonly runCleanupForEveryRecord: boolean;
}

/** The LevelDB backend's background sweep: `entriesPerSweep` database entries read every `sweepIntervalMs`. */
export interface LevelDbSweepCleanupStrategy {
  readonly entriesPerSweep: number;
  readonly sweepIntervalMs: number;
}

export interface CleanupStrategies {
  readonly inFullSnapshot: boolean;
  /** In-memory backend only (as Flink's heap backend); undefined: none. */
  readonly incremental: IncrementalCleanupStrategy | undefined;
  /** LevelDB backend only; undefined: none. */
  readonly levelDbSweep: LevelDbSweepCleanupStrategy | undefined;
}

/** Flink's defaults for cleanup in background. */
const DEFAULT_INCREMENTAL_CLEANUP: IncrementalCleanupStrategy = { cleanupSize: 5, runCleanupForEveryRecord: false };
const DEFAULT_LEVELDB_SWEEP: LevelDbSweepCleanupStrategy = { entriesPerSweep: 1_000, sweepIntervalMs: 100 };

export class StateTtlConfig {
  static readonly UpdateType = UpdateType;
  static readonly StateVisibility = StateVisibility;

  /** Starts a configuration whose values expire `ttlMs` milliseconds of processing time after their last update. */
  static newBuilder(ttlMs: number): StateTtlConfigBuilder {
    return new StateTtlConfigBuilder(ttlMs);
  }

  /** @internal built by StateTtlConfigBuilder.build() */
  constructor(
    readonly ttlMs: number,
    readonly updateType: UpdateType,
    readonly stateVisibility: StateVisibility,
    readonly cleanupStrategies: CleanupStrategies,
  ) {
    Object.freeze(this);
  }
}

export class StateTtlConfigBuilder {
  private ttlMs: number;
  private updateType: UpdateType = UpdateType.OnCreateAndWrite;
  private stateVisibility: StateVisibility = StateVisibility.NeverReturnExpired;
  private inFullSnapshot = false;
  private incremental: IncrementalCleanupStrategy | undefined;
  private levelDbSweep: LevelDbSweepCleanupStrategy | undefined;
  private cleanupInBackground = true;

  constructor(ttlMs: number) {
    this.ttlMs = checkPositiveInteger('StateTtlConfig ttlMs', ttlMs);
  }

  setTtl(ttlMs: number): this {
    this.ttlMs = checkPositiveInteger('StateTtlConfig ttlMs', ttlMs);
    return this;
  }

  setUpdateType(updateType: UpdateType): this {
    if (!Object.values(UpdateType).includes(updateType)) {
      throw new InvalidPipelineError(`StateTtlConfig update type: one of ${Object.values(UpdateType).join(', ')}, got ${String(updateType)}`);
    }
    this.updateType = updateType;
    return this;
  }

  updateTtlOnCreateAndWrite(): this {
    return this.setUpdateType(UpdateType.OnCreateAndWrite);
  }

  updateTtlOnReadAndWrite(): this {
    return this.setUpdateType(UpdateType.OnReadAndWrite);
  }

  setStateVisibility(stateVisibility: StateVisibility): this {
    if (!Object.values(StateVisibility).includes(stateVisibility)) {
      throw new InvalidPipelineError(
        `StateTtlConfig state visibility: one of ${Object.values(StateVisibility).join(', ')}, got ${String(stateVisibility)}`,
      );
    }
    this.stateVisibility = stateVisibility;
    return this;
  }

  neverReturnExpired(): this {
    return this.setStateVisibility(StateVisibility.NeverReturnExpired);
  }

  returnExpiredIfNotCleanedUp(): this {
    return this.setStateVisibility(StateVisibility.ReturnExpiredIfNotCleanedUp);
  }

  /** Leaves expired values out of full snapshots (and, on LevelDB, out of the key groups a checkpoint writes anew). */
  cleanupFullSnapshot(): this {
    this.inFullSnapshot = true;
    return this;
  }

  /**
   * In-memory backend: every access to the state checks `cleanupSize` more of its entries, going
   * round all of them, and removes the expired ones; with `runCleanupForEveryRecord`, every record
   * (and timer) processed does too. No effect on LevelDB.
   */
  cleanupIncrementally(cleanupSize: number, runCleanupForEveryRecord: boolean): this {
    this.incremental = { cleanupSize: checkPositiveInteger('StateTtlConfig cleanupSize', cleanupSize), runCleanupForEveryRecord };
    return this;
  }

  /**
   * LevelDB backend: every `sweepIntervalMs` of processing time, reads the next `entriesPerSweep`
   * entries of the database, going round all of them, and deletes the expired values of states
   * with this option. Where several states ask for it, the shortest interval and the largest
   * count apply. No effect on the in-memory backend.
   */
  cleanupInLevelDbSweep(entriesPerSweep = DEFAULT_LEVELDB_SWEEP.entriesPerSweep, sweepIntervalMs = DEFAULT_LEVELDB_SWEEP.sweepIntervalMs): this {
    this.levelDbSweep = {
      entriesPerSweep: checkPositiveInteger('StateTtlConfig entriesPerSweep', entriesPerSweep),
      sweepIntervalMs: checkPositiveInteger('StateTtlConfig sweepIntervalMs', sweepIntervalMs),
    };
    return this;
  }

  /** Without it, the backends clean up in the background with Flink's defaults (incrementally 5 entries per access; LevelDB: 1000 entries every 100 ms) unless told otherwise. */
  disableCleanupInBackground(): this {
    this.cleanupInBackground = false;
    return this;
  }

  build(): StateTtlConfig {
    const background = this.cleanupInBackground;
    return new StateTtlConfig(this.ttlMs, this.updateType, this.stateVisibility, {
      inFullSnapshot: this.inFullSnapshot,
      incremental: this.incremental ?? (background ? DEFAULT_INCREMENTAL_CLEANUP : undefined),
      levelDbSweep: this.levelDbSweep ?? (background ? DEFAULT_LEVELDB_SWEEP : undefined),
    });
  }
}

function checkPositiveInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidPipelineError(`${field}: a positive integer, got ${value}`);
  return value;
}
