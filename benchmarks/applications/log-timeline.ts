// Where an application's start or update spends its time, read from the JSON logs of a
// ProcessCluster's processes: the coordinator's operation steps, job state changes and
// checkpoints, the workers' checkpoint writes and deployments (with their restore times).

import type { ProcessCluster } from '../../coordinator/cluster/testing/process-cluster.ts';

export interface LogEvent {
  readonly atMs: number;
  readonly process: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, any>>;
}

/** The log messages that mark a step of a start or an update. */
const STEP_MESSAGES = new Set([
  'application operation started',
  'application operation step recorded',
  'application operation ended',
  'application status changed',
  'job submitted',
  'deploying attempt',
  'job state changed',
  'checkpoint completed',
  'checkpoint failed',
  'checkpoint state written',
  'committing checkpoint',
  'attempt deployed',
  'attempt cancelled',
]);

/** The step events every process logged in [fromMs, toMs], in time order. */
export function stepEvents(cluster: ProcessCluster, fromMs: number, toMs: number): LogEvent[] {
  const events: LogEvent[] = [];
  for (const process of [...cluster.coordinators, ...cluster.workers]) {
    for (const line of cluster.logLines(process)) {
      if (!STEP_MESSAGES.has(line.message)) continue;
      const atMs = Date.parse(line.timestamp);
      if (atMs < fromMs || atMs > toMs) continue;
      const { message, timestamp: _timestamp, level: _level, ...fields } = line;
      events.push({ atMs, process: process.id, message, fields });
    }
  }
  return events.sort((a, b) => a.atMs - b.atMs);
}

/** The first event matching, or undefined. */
export function firstEvent(events: readonly LogEvent[], matches: (event: LogEvent) => boolean): LogEvent | undefined {
  return events.find(matches);
}

/** One line of a timeline: `+1234 ms  coordinator-1  job state changed  running → stopping (…)`. */
export function describeEvent(event: LogEvent, originMs: number): string {
  const f = event.fields;
  const detail = (() => {
    switch (event.message) {
      case 'job state changed':
        return `job ${f.job}: ${f.from} → ${f.to}${f.reason ? ` (${f.reason})` : ''}`;
      case 'checkpoint completed':
        return `job ${f.job}: checkpoint ${f.checkpointId} in ${f.durationMs} ms`;
      case 'checkpoint state written':
        return `job ${f.job}: checkpoint ${f.checkpointId}, ${f.task} (${f.uid}): ${mb(f.totalBytes)} MB, ${mb(f.uploadedBytes)} MB uploaded, ${f.ms} ms after capture`;
      case 'attempt deployed':
        return `job ${f.job}: ${(f.subtasks as string[]).length} subtasks, restore read ${f.restoreReadMs} ms, build ${f.buildMs} ms`;
      case 'application operation step recorded':
        return `${f.type}: ${f.step}`;
      case 'application status changed':
        return `${f.from} → ${f.to}`;
      case 'job submitted':
        return `job ${f.job}`;
      case 'committing checkpoint':
        return `job ${f.job}: checkpoint ${f.checkpointId}`;
      default:
        return [f.type, f.status, f.job && `job ${f.job}`].filter(Boolean).join(' ');
    }
  })();
  return `+${String(event.atMs - originMs).padStart(6)} ms  ${event.process.padEnd(13)}  ${event.message}${detail ? `: ${detail}` : ''}`;
}

const mb = (bytes: unknown) => (typeof bytes === 'number' ? (bytes / 2 ** 20).toFixed(1) : '?');
