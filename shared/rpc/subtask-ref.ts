// A subtask of a job attempt, as both gateways name it (the proto's SubtaskRef).

export interface SubtaskRef {
  readonly taskId: number;
  readonly subtask: number;
}
