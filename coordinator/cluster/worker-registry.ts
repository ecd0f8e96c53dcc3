// The workers the leader knows (Flink's ResourceManager, reduced to what a static cluster needs):
// who registered, with how many slots and where; when each last sent a heartbeat, and what it
// reported running. A worker silent for longer than the heartbeat timeout is lost.

import type { Clock } from '../../shared/clock.ts';
import type { SubtaskStatus } from '../../shared/rpc/worker-reports.ts';

/** A subtask as its worker reports it in heartbeats. */
export type RunningSubtask = SubtaskStatus;

export interface RunningAttemptReport {
  readonly jobId: string;
  readonly attempt: number;
  readonly subtasks: readonly RunningSubtask[];
}

export interface RegisteredWorker {
  readonly workerId: string;
  readonly rpcAddress: string;
  readonly dataAddress: string;
  readonly metricsAddress: string;
  readonly slots: number;
  lastHeartbeatMs: number;
  running: readonly RunningAttemptReport[];
}

export class WorkerRegistry {
  private readonly workers = new Map<string, RegisteredWorker>();

  constructor(private readonly clock: Clock, private readonly heartbeatTimeoutMs: number) {}

  register(worker: Omit<RegisteredWorker, 'lastHeartbeatMs'>): RegisteredWorker {
    const registered: RegisteredWorker = { ...worker, lastHeartbeatMs: this.clock.now() };
    this.workers.set(worker.workerId, registered);
    return registered;
  }

  /** Returns false for a worker this coordinator does not know (it must register). */
  heartbeat(workerId: string, running: readonly RunningAttemptReport[]): boolean {
    const worker = this.workers.get(workerId);
    if (!worker) return false;
    worker.lastHeartbeatMs = this.clock.now();
    worker.running = running;
    return true;
  }

  get(workerId: string): RegisteredWorker | undefined {
    return this.workers.get(workerId);
  }

  all(): RegisteredWorker[] {
    return [...this.workers.values()].sort((a, b) => a.workerId.localeCompare(b.workerId));
  }

  /** Removes and returns the workers whose heartbeats stopped. */
  expire(): RegisteredWorker[] {
    const now = this.clock.now();
    const lost: RegisteredWorker[] = [];
    for (const worker of this.workers.values()) {
      if (now - worker.lastHeartbeatMs > this.heartbeatTimeoutMs) lost.push(worker);
    }
    for (const worker of lost) this.workers.delete(worker.workerId);
    return lost;
  }

  remove(workerId: string): void {
    this.workers.delete(workerId);
  }

  get totalSlots(): number {
    let total = 0;
    for (const w of this.workers.values()) total += w.slots;
    return total;
  }
}
