// Time is injected: everything that waits, times out or schedules takes a Clock, so tests run on
// a ManualClock and are deterministic.

export interface Cancellable {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch (processing time). */
  now(): number;
  /** Runs `callback` once after `delayMs` milliseconds of this clock. */
  schedule(delayMs: number, callback: () => void): Cancellable;
}

export class SystemClock implements Clock {
  static readonly INSTANCE = new SystemClock();

  now(): number {
    return Date.now();
  }

  schedule(delayMs: number, callback: () => void): Cancellable {
    // Not unref'd: a scheduled callback is work the process is waiting for.
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  }
}

interface ScheduledTask {
  dueMs: number;
  sequence: number;
  callback: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to; due callbacks run in due order inside `advance`. */
export class ManualClock implements Clock {
  private nowMs: number;
  private sequence = 0;
  private readonly tasks: ScheduledTask[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  schedule(delayMs: number, callback: () => void): Cancellable {
    const task: ScheduledTask = { dueMs: this.nowMs + Math.max(0, delayMs), sequence: this.sequence++, callback, cancelled: false };
    this.tasks.push(task);
    return { cancel: () => { task.cancelled = true; } };
  }

  advance(byMs: number): void {
    this.advanceTo(this.nowMs + byMs);
  }

  advanceTo(targetMs: number): void {
    for (;;) {
      let next: ScheduledTask | undefined;
      for (const task of this.tasks) {
        if (task.cancelled || task.dueMs > targetMs) continue;
        if (!next || task.dueMs < next.dueMs || (task.dueMs === next.dueMs && task.sequence < next.sequence)) next = task;
      }
      if (!next) break;
      this.tasks.splice(this.tasks.indexOf(next), 1);
      this.nowMs = Math.max(this.nowMs, next.dueMs);
      next.callback();
    }
    this.nowMs = Math.max(this.nowMs, targetMs);
    for (let i = this.tasks.length - 1; i >= 0; i--) if (this.tasks[i]!.cancelled) this.tasks.splice(i, 1);
  }

  get pendingTasks(): number {
    return this.tasks.filter((t) => !t.cancelled).length;
  }
}

/** Resolves after `delayMs` on `clock`. */
export function sleep(clock: Clock, delayMs: number): Promise<void> {
  return new Promise((resolve) => clock.schedule(delayMs, resolve));
}

/**
 * A scheduler's idle wait: sleeps until a timer on `clock` or until `wakeUp()` (new input, a
 * control call), whichever comes first. `sleep(0)` yields one turn of the event loop.
 */
export class WakeableSleep {
  private wake: (() => void) | undefined;

  constructor(private readonly clock: Clock) {}

  sleep(delayMs: number): Promise<void> {
    if (delayMs <= 0) return new Promise((resolve) => setImmediate(resolve));
    return new Promise<void>((resolve) => {
      const timer = this.clock.schedule(delayMs, () => {
        this.wake = undefined;
        resolve();
      });
      this.wake = () => {
        timer.cancel();
        this.wake = undefined;
        resolve();
      };
    });
  }

  wakeUp(): void {
    this.wake?.();
  }
}
