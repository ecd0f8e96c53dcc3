// The `_metadata` of a completed checkpoint: which operators (by uid) had which subtasks, where
// each subtask's state file is and its checksum. A checkpoint whose `_metadata` does not exist
// is not a checkpoint. The same layout serves local directories now and S3 later.

import { RestoreError } from '../errors.ts';

export const METADATA_FORMAT_VERSION = 1;

export interface SubtaskStateHandle {
  readonly subtask: number;
  /** Path of the state file relative to the checkpoint's directory. */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  /** The shared key-group chunks (by SHA-256) the state file refers to: incremental checkpoints. */
  readonly shared?: readonly string[];
}

export interface OperatorStateMetadata {
  readonly uid: string;
  readonly name: string;
  readonly parallelism: number;
  /** Its number of key groups; a restore must keep it. */
  readonly maxParallelism?: number;
  readonly subtasks: readonly SubtaskStateHandle[];
}

export interface CheckpointMetadata {
  readonly formatVersion: number;
  readonly checkpointId: number;
  readonly jobName: string;
  readonly maxParallelism: number;
  readonly triggeredAtMs: number;
  readonly completedAtMs: number;
  /** True when every task had finished: restoring it ends the job at once. */
  readonly final: boolean;
  readonly operators: readonly OperatorStateMetadata[];
  /** Present on a snapshot (savepoint): a self-contained copy of the checkpoint it names. */
  readonly snapshot?: SnapshotInfo;
}

/** What a snapshot records about itself in its `_metadata`. */
export interface SnapshotInfo {
  readonly name: string;
  readonly jobId: string;
  readonly jobName: string;
  /** The checkpoint it was copied from. */
  readonly checkpointId: number;
  readonly createdAtMs: number;
}

/** Checks a parsed `_metadata` document field by field; `where` names the file in errors. */
export function validateCheckpointMetadata(value: unknown, where: string): CheckpointMetadata {
  const fail = (field: string, problem: string): never => {
    throw new RestoreError(`${where}: ${field} ${problem}; this is not a Sluice checkpoint or snapshot`);
  };
  if (typeof value !== 'object' || value === null) fail('the document', 'is not a JSON object');
  const m = value as Record<string, unknown>;
  if (m.formatVersion !== METADATA_FORMAT_VERSION) fail('formatVersion', `is ${JSON.stringify(m.formatVersion)}, expected ${METADATA_FORMAT_VERSION}`);
  if (!Number.isInteger(m.checkpointId)) fail('checkpointId', 'is not an integer');
  if (!Number.isInteger(m.maxParallelism)) fail('maxParallelism', 'is not an integer');
  if (typeof m.jobName !== 'string') fail('jobName', 'is not a string');
  if (!Array.isArray(m.operators)) fail('operators', 'is not an array');
  for (const [i, op] of (m.operators as unknown[]).entries()) {
    const o = op as Record<string, unknown>;
    if (typeof o?.uid !== 'string') fail(`operators[${i}].uid`, 'is not a string');
    if (!Array.isArray(o.subtasks)) fail(`operators[${i}].subtasks`, 'is not an array');
    for (const [j, st] of (o.subtasks as unknown[]).entries()) {
      const s = st as Record<string, unknown>;
      if (!Number.isInteger(s?.subtask) || typeof s.file !== 'string' || typeof s.sha256 !== 'string') {
        fail(`operators[${i}].subtasks[${j}]`, 'lacks subtask, file or sha256');
      }
    }
  }
  return value as CheckpointMetadata;
}
