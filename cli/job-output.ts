// `sluice list` and `sluice status` for people: a table of the jobs, and one job's state,
// checkpoints and subtasks. `--output json` prints the REST API's answer as it is.

import { keyValueText, tableText, timeText } from './apps-output.ts';

interface JobSummary {
  readonly jobId: string;
  readonly jobName: string;
  readonly state: string;
  readonly attempt: number;
}

interface SubtaskView {
  readonly taskName: string;
  readonly subtask: number;
  readonly workerId: string;
  readonly state: string;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly watermark: number;
  readonly backPressured?: boolean;
  readonly lateRecordsDropped?: number;
}

interface JobView extends JobSummary {
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly numRestarts: number;
  readonly failure: string | null;
  readonly submittedAtMs: number;
  readonly checkpoints: {
    readonly completed: number;
    readonly failed: number;
    readonly inProgress: number | null;
    readonly latest: { readonly checkpointId: number; readonly durationMs?: number; readonly bytes?: number } | null;
    readonly periodic?: { readonly enabled: boolean; readonly intervalMs: number; readonly source: string };
  };
  readonly subtasks: readonly SubtaskView[];
}

export function jobsTable(answer: { readonly jobs?: readonly JobSummary[] }): string {
  const rows = (answer.jobs ?? []).map((job) => [job.jobId, job.jobName, job.state, String(job.attempt)]);
  return tableText(['JOB ID', 'NAME', 'STATE', 'ATTEMPT'], rows, 'no jobs');
}

function watermarkText(watermark: number): string {
  return Number.isFinite(watermark) ? new Date(watermark).toISOString() : '-';
}

export function jobText(job: JobView): string {
  const { checkpoints } = job;
  const latest = checkpoints.latest;
  const periodic = checkpoints.periodic;
  const header = keyValueText([
    ['Job', `${job.jobName} (${job.jobId})`],
    ['State', `${job.state}, attempt ${job.attempt}, ${job.numRestarts} restart(s)`],
    ['Failure', job.failure ?? undefined],
    ['Parallelism', `${job.parallelism} (max ${job.maxParallelism})`],
    ['Submitted', timeText(new Date(job.submittedAtMs))],
    [
      'Checkpoints',
      `${checkpoints.completed} completed, ${checkpoints.failed} failed` +
        (checkpoints.inProgress !== null ? `, ${checkpoints.inProgress} in progress` : '') +
        (latest ? `; latest ${latest.checkpointId}${latest.durationMs !== undefined ? ` in ${latest.durationMs} ms` : ''}` : ''),
    ],
    ['Periodic', periodic ? (periodic.enabled ? `every ${periodic.intervalMs} ms (${periodic.source} setting)` : `off (${periodic.source} setting)`) : undefined],
  ]);
  const rows = job.subtasks.map((s) => [
    s.taskName,
    s.workerId,
    s.state + (s.backPressured ? ' (back-pressured)' : ''),
    String(s.recordsIn),
    String(s.recordsOut),
    String(s.lateRecordsDropped ?? 0),
    watermarkText(s.watermark),
  ]);
  return `${header}\n${tableText(['SUBTASK', 'WORKER', 'STATE', 'IN', 'OUT', 'LATE', 'WATERMARK'], rows, 'no subtasks running')}`;
}
