// The CoordinatorGateway (proto/sluice.proto): what workers call on the leader coordinator. Each
// message is declared as proto-loader decodes it (rpc.ts, LOADER_OPTIONS): every field present,
// int64 as number. A sender gives every field too, so a field added to the proto is a compile
// error wherever it is not yet sent.

import { rpcService, type Empty } from './rpc.ts';
import type { SubtaskRef } from './subtask-ref.ts';

/** One subtask as its worker reports it (the proto's SubtaskStatus; shared/rpc/worker-reports.ts has the checked form). */
export interface SubtaskStatusMessage extends SubtaskRef {
  readonly taskName: string;
  /** 'running' | 'finished' */
  readonly state: string;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly watermark: number;
  readonly busyTimeMs: number;
  readonly backPressuredTimeMs: number;
  readonly backPressured: boolean;
  readonly unfinishedSplits: readonly string[];
  readonly lateRecordsDropped: number;
  /** Source subtasks: records not read yet; -1 when unknown (and for other subtasks). */
  readonly pendingRecords: number;
}

/** One job attempt a worker runs. */
export interface RunningAttempt {
  readonly jobId: string;
  readonly attempt: number;
  readonly subtasks: readonly SubtaskStatusMessage[];
}

export interface RegisterWorkerRequest {
  readonly workerId: string;
  readonly rpcAddress: string;
  readonly dataAddress: string;
  readonly slots: number;
  readonly metricsAddress: string;
  readonly running: readonly RunningAttempt[];
}

export interface RegisterWorkerResponse {
  readonly epoch: number;
  readonly coordinatorId: string;
  readonly heartbeatIntervalMs: number;
}

export interface HeartbeatRequest {
  readonly workerId: string;
  readonly running: readonly RunningAttempt[];
}

export interface HeartbeatResponse {
  /** False when this coordinator does not know the worker (a new leader): register again. */
  readonly registered: boolean;
  readonly epoch: number;
}

/** What one subtask wrote for one operator (SubtaskStateHandle, with the operator's uid). */
export interface StateHandle {
  readonly uid: string;
  readonly subtask: number;
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly shared: readonly string[];
}

export interface AcknowledgeCheckpointRequest {
  readonly jobId: string;
  readonly attempt: number;
  readonly checkpointId: number;
  readonly taskId: number;
  readonly subtask: number;
  readonly states: readonly StateHandle[];
}

export interface TaskFailureReport {
  readonly jobId: string;
  readonly attempt: number;
  readonly workerId: string;
  readonly message: string;
}

export interface SubtasksFinishedReport {
  readonly jobId: string;
  readonly attempt: number;
  readonly subtasks: readonly SubtaskRef[];
}

export interface CoordinatorGatewayMethods {
  RegisterWorker: { request: RegisterWorkerRequest; response: RegisterWorkerResponse };
  Heartbeat: { request: HeartbeatRequest; response: HeartbeatResponse };
  AcknowledgeCheckpoint: { request: AcknowledgeCheckpointRequest; response: Empty };
  ReportTaskFailure: { request: TaskFailureReport; response: Empty };
  ReportSubtasksFinished: { request: SubtasksFinishedReport; response: Empty };
}

export const COORDINATOR_GATEWAY = rpcService<CoordinatorGatewayMethods>('CoordinatorGateway');
