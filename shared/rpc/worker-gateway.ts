// The WorkerGateway (proto/sluice.proto): what the leader coordinator calls on a worker. Each
// message is declared as proto-loader decodes it (rpc.ts, LOADER_OPTIONS): every field present,
// int64 as number, an absent message field null. A sender gives every field too (a message field
// it may leave out), so a field added to the proto is a compile error wherever it is not yet sent.
// Below the messages, the conversions between them and what either side works with.

import type { SplitState } from '../api/connectors.ts';
import type { ApplicationProperties } from '../api/environment.ts';
import { InvalidRequestError } from '../errors.ts';
import { rpcService, type Empty } from './rpc.ts';
import type { SubtaskRef } from './subtask-ref.ts';
import type { RescaleCompletion } from './worker-reports.ts';

/** A split and where to read it from next (the proto's SplitState): the position in its connector's encoding. */
export interface EncodedSplitState {
  readonly splitId: string;
  /** Empty: no position. */
  readonly position: Uint8Array;
}

/** The splits of one source subtask on a fresh start. */
export interface SourceSplits extends SubtaskRef {
  readonly splits: readonly EncodedSplitState[];
}

export interface PropertyGroup {
  readonly properties: Readonly<Record<string, string>>;
}

/** Where one subtask of the attempt runs. */
export interface Placement extends SubtaskRef {
  readonly workerId: string;
  readonly dataAddress: string;
}

export interface DeployTasksRequest {
  readonly jobId: string;
  readonly attempt: number;
  readonly jobName: string;
  readonly applicationPath: string;
  readonly properties: Readonly<Record<string, PropertyGroup>>;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly checkpointDirectory: string;
  /** The ones this worker runs. */
  readonly subtasks: readonly SubtaskRef[];
  /** Every subtask of the attempt. */
  readonly placements: readonly Placement[];
  /** Fresh start: the splits of this worker's source subtasks. */
  readonly splits: readonly SourceSplits[];
  /** A checkpoint (…/chk-N) or snapshot folder; '': a fresh start. */
  readonly restorePath: string;
  readonly allowNonRestoredState: boolean;
  /** 'memory' | 'leveldb'; '': the worker's default. */
  readonly stateBackend: string;
  readonly jobSubmittedAtMs: number;
}

/** The ids of the splits one source subtask reads. */
export interface SubtaskSplitIds extends SubtaskRef {
  readonly splitIds: readonly string[];
}

/** A live rescale's split assignment: every source subtask of each rescaled source, with its splits. */
export interface SplitAssignmentMessage {
  readonly subtasks: readonly SubtaskSplitIds[];
}

export interface TriggerCheckpointRequest {
  readonly jobId: string;
  readonly attempt: number;
  readonly checkpointId: number;
  /** On the barrier of a live rescale only. */
  readonly splitAssignment?: SplitAssignmentMessage | null;
}

export interface CheckpointRef {
  readonly jobId: string;
  readonly attempt: number;
  readonly checkpointId: number;
}

export type NotifyCheckpointCompleteRequest = CheckpointRef;
export type AbortCheckpointRequest = CheckpointRef;

export interface CancelJobRequest {
  readonly jobId: string;
  /** 0: every attempt of the job. */
  readonly attempt: number;
  readonly reason: string;
}

export interface PrepareRescaleRequest {
  readonly jobId: string;
  readonly attempt: number;
  readonly parallelism: number;
  readonly checkpointId: number;
  /** The added subtasks this worker runs. */
  readonly subtasks: readonly SubtaskRef[];
  /** Every subtask at the new parallelism. */
  readonly placements: readonly Placement[];
  /** To a worker new to the job: the attempt, with no subtasks yet. */
  readonly deployment?: DeployTasksRequest | null;
  /** The latest completed checkpoint (0: none), to stage gained key groups from. */
  readonly stagingCheckpointId: number;
}

export interface PrepareRescaleResponse {
  /** The splits this worker's source subtasks read now. */
  readonly splits: readonly SubtaskSplitIds[];
}

export interface CompleteRescaleRequest {
  readonly jobId: string;
  readonly attempt: number;
  readonly checkpointId: number;
  /** Required: the assignment the rescale's barrier carried. */
  readonly splitAssignment: SplitAssignmentMessage | null;
}

export type CompleteRescaleResponse = RescaleCompletion;

export interface WorkerGatewayMethods {
  DeployTasks: { request: DeployTasksRequest; response: Empty };
  TriggerCheckpoint: { request: TriggerCheckpointRequest; response: Empty };
  NotifyCheckpointComplete: { request: NotifyCheckpointCompleteRequest; response: Empty };
  AbortCheckpoint: { request: AbortCheckpointRequest; response: Empty };
  CancelJob: { request: CancelJobRequest; response: Empty };
  PrepareRescale: { request: PrepareRescaleRequest; response: PrepareRescaleResponse };
  CompleteRescale: { request: CompleteRescaleRequest; response: CompleteRescaleResponse };
}

export const WORKER_GATEWAY = rpcService<WorkerGatewayMethods>('WorkerGateway');

// ---- conversions ---------------------------------------------------------------------------

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A split's position is opaque to the protocol: its format is its connector's business. The
 * SplitState contract makes every position JSON-serializable, so its bytes are its JSON in UTF-8,
 * the encoding the checkpoint stores it in too; a connector with an encoding of its own (Flink's
 * Source.getSplitSerializer) would plug in here.
 */
export function encodeSplitStates(splits: readonly SplitState[]): EncodedSplitState[] {
  return splits.map((s) => ({ splitId: s.id, position: s.position === undefined ? new Uint8Array(0) : utf8.encode(JSON.stringify(s.position)) }));
}

export function decodeSplitStates(splits: readonly EncodedSplitState[], field: string): SplitState[] {
  return splits.map((s) => {
    if (s.position.length === 0) return { id: s.splitId, position: undefined };
    try {
      return { id: s.splitId, position: JSON.parse(fromUtf8.decode(s.position)) as unknown };
    } catch (error) {
      throw new InvalidRequestError(`${field}: the position of split ${s.splitId} is not what its connector encodes: ${(error as Error).message}`);
    }
  });
}

export function encodeProperties(properties: ApplicationProperties): Record<string, PropertyGroup> {
  return Object.fromEntries(Object.entries(properties).map(([group, values]) => [group, { properties: values }]));
}

export function decodeProperties(groups: Readonly<Record<string, PropertyGroup>>): ApplicationProperties {
  return Object.fromEntries(Object.entries(groups).map(([group, { properties }]) => [group, properties]));
}

/** "taskId/subtask" → split ids, as the runtime and the split dealing keep them, to the wire. */
export function encodeSplitIds(bySubtask: ReadonlyMap<string, readonly string[]>): SubtaskSplitIds[] {
  return [...bySubtask].map(([key, splitIds]) => {
    const [taskId, subtask] = key.split('/').map(Number);
    if (!Number.isInteger(taskId) || !Number.isInteger(subtask)) throw new Error(`a subtask key is "taskId/subtask", got "${key}"`);
    return { taskId: taskId!, subtask: subtask!, splitIds };
  });
}

export function decodeSplitIds(list: readonly SubtaskSplitIds[]): Map<string, readonly string[]> {
  return new Map(list.map((s) => [`${s.taskId}/${s.subtask}`, s.splitIds]));
}
