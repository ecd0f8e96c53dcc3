// What the overview and the job page both say about a job.

import { formatBytes, formatDuration } from './format.mjs';

/** How long the job has been running since it last entered "running"; undefined when it is not running. */
export function uptimeMs(job, nowMs) {
  if (job.state !== 'running') return undefined;
  const entered = job.transitions.findLast((t) => t.to === 'running');
  return nowMs - (entered?.atMs ?? job.submittedAtMs);
}

export function lastCheckpointText(job) {
  const latest = job.checkpoints.latest;
  if (!latest) return job.checkpoints.inProgress === null ? 'none yet' : `#${job.checkpoints.inProgress} in progress`;
  return `#${latest.checkpointId} · ${formatDuration(latest.durationMs)} · ${formatBytes(latest.bytes)}`;
}

/** Only a running job takes a snapshot, a stop or a rescale (the REST API refuses them otherwise). */
export function takesActions(job) {
  return job.state === 'running';
}
