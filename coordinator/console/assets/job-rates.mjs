// Rates from two successive polls of a job's status. The workers report counters since their
// attempt started (records in and out, busy and backpressured milliseconds); the console keeps
// the previous sample of each job and turns the differences into per-second rates and time shares.
// A new attempt starts its counters again, so rates across attempts are unknown, not negative.

const subtaskKey = (s) => `${s.taskId}/${s.subtask}`;

export class JobRates {
  #previous = new Map(); // jobId → { atMs, attempt, subtasks: Map<key, subtask> }

  /** Takes a job status polled at `atMs`; returns its rates against the previous sample of the same attempt. */
  update(job, atMs) {
    const before = this.#previous.get(job.jobId);
    const subtasks = new Map(job.subtasks.map((s) => [subtaskKey(s), s]));
    this.#previous.set(job.jobId, { atMs, attempt: job.attempt, subtasks });
    const elapsedMs = before ? atMs - before.atMs : 0;
    const comparable = before !== undefined && before.attempt === job.attempt && elapsedMs > 0;
    const perSubtask = new Map();
    for (const [key, now] of subtasks) {
      const then = comparable ? before.subtasks.get(key) : undefined;
      perSubtask.set(key, then ? subtaskRates(then, now, elapsedMs) : {});
    }
    return { perSubtask, recordsPerSecond: sourceRate(job, perSubtask) };
  }

  /** The rates of one subtask in the latest sample: {inPerSecond, outPerSecond, busy, backPressured}, empty when unknown. */
  static ofSubtask(rates, subtask) {
    return rates?.perSubtask.get(subtaskKey(subtask)) ?? {};
  }

  /**
   * One task's rates: records summed over its subtasks; busy and backpressured the highest of
   * its subtasks (as Flink colours its graph: one hot subtask makes a hot task).
   */
  static ofTask(rates, job, taskId) {
    const mine = job.subtasks.filter((s) => s.taskId === taskId).map((s) => JobRates.ofSubtask(rates, s));
    const known = mine.filter((r) => r.inPerSecond !== undefined);
    if (known.length === 0) return {};
    return {
      inPerSecond: sum(known.map((r) => r.inPerSecond)),
      outPerSecond: sum(known.map((r) => r.outPerSecond)),
      busy: Math.max(...known.map((r) => r.busy)),
      backPressured: Math.max(...known.map((r) => r.backPressured)),
    };
  }
}

function subtaskRates(then, now, elapsedMs) {
  const perSecond = (a, b) => (b >= a ? ((b - a) * 1000) / elapsedMs : undefined);
  const share = (a, b) => (b >= a ? Math.min(1, (b - a) / elapsedMs) : undefined);
  return {
    inPerSecond: perSecond(then.recordsIn, now.recordsIn),
    outPerSecond: perSecond(then.recordsOut, now.recordsOut),
    busy: share(then.busyTimeMs, now.busyTimeMs),
    backPressured: share(then.backPressuredTimeMs, now.backPressuredTimeMs),
  };
}

/** What the job reads per second: its source tasks' records out. */
function sourceRate(job, perSubtask) {
  const sources = new Set(job.tasks.filter((t) => t.isSource).map((t) => t.id));
  const rates = job.subtasks.filter((s) => sources.has(s.taskId)).map((s) => perSubtask.get(subtaskKey(s))?.outPerSecond);
  return rates.length === 0 || rates.some((r) => r === undefined) ? undefined : sum(rates);
}

const sum = (values) => values.reduce((a, b) => a + b, 0);
