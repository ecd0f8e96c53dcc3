// What a worker reports to the coordinator about the subtasks it runs: their status in every
// heartbeat, and what a live rescale's takeover did in the answer to CompleteRescale.

/** A worker's answer to CompleteRescale: what the takeover of its subtasks did. */
export interface RescaleCompletion {
  /** Records held back while their key groups' state was on its way. */
  readonly stashedRecords: number;
  readonly keyGroupsTakenOver: number;
  /** Of those, the key groups staged ahead of the switch and unchanged since: nothing was read at the takeover. */
  readonly keyGroupsStaged: number;
  readonly splitsTakenOver: number;
  readonly retiredSubtasks: number;
  /** The longest a subtask here held back records of key groups it took over: from its rescale barrier to their state being in place, in ms. */
  readonly keyGroupPauseMs: number;
}

/** One subtask as its worker reports it in heartbeats. */
export interface SubtaskStatus {
  readonly taskId: number;
  readonly subtask: number;
  readonly taskName: string;
  readonly state: 'running' | 'finished';
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly watermark: number;
  readonly busyTimeMs: number;
  readonly backPressuredTimeMs: number;
  readonly backPressured: boolean;
  /** Records its operators dropped as too late (windows past their allowed lateness). */
  readonly lateRecordsDropped: number;
  /** Source subtasks: the splits their reader has not finished (none once the subtask finished). */
  readonly unfinishedSplits?: readonly string[];
  /** Source subtasks: records their splits hold not read yet (SourceReader.pendingRecords); undefined when the source cannot tell. */
  readonly pendingRecords?: number | undefined;
}
