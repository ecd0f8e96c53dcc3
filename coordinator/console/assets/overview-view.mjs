// The overview: who leads, the workers and their slots, and every job with its rates.

import { apiGet } from './api.mjs';
import { facts, h, replaceContent, stateBadge, table } from './dom.mjs';
import { formatCount, formatDuration, formatRate, formatTime } from './format.mjs';
import { JobRates } from './job-rates.mjs';
import { lastCheckpointText, uptimeMs } from './job-summary.mjs';

export function overviewView() {
  const rates = new JobRates();
  const cluster = h('section', { class: 'panel', id: 'cluster' });
  const workers = h('section', { class: 'panel', id: 'workers' });
  const jobs = h('section', { class: 'panel', id: 'jobs' });
  const element = h('div', {}, h('h1', {}, 'Overview'), h('p', { class: 'subtitle' }, 'Updated every second.'), cluster, jobs, workers);

  async function refresh() {
    const [overview, { jobs: statuses }] = await Promise.all([apiGet('/v1/overview'), apiGet('/v1/jobs')]);
    const now = Date.now();
    replaceContent(
      cluster,
      h('h2', {}, 'Cluster'),
      facts([
        ['leader', overview.coordinatorId, 'leader'],
        ['epoch', String(overview.epoch)],
        ['high availability', overview.haKind ?? '–'],
        ['workers', String(overview.workers.length), 'workers'],
        ['slots free / total', `${overview.slotsFree} / ${overview.slotsTotal}`, 'slots'],
        ['jobs running', String(statuses.filter((j) => j.state === 'running').length)],
      ]),
    );
    replaceContent(
      workers,
      h('h2', {}, 'Workers'),
      table(
        [{ label: 'worker' }, { label: 'RPC address' }, { label: 'slots', number: true }, { label: 'free', number: true }, { label: 'subtasks', number: true }, { label: 'last heartbeat' }],
        overview.workers.map((w) => [
          w.workerId,
          w.rpcAddress,
          w.slots,
          w.freeSlots,
          w.running.reduce((n, r) => n + r.subtasks, 0),
          `${formatDuration(now - w.lastHeartbeatMs)} ago`,
        ]),
        'No worker has registered.',
      ),
    );
    const sorted = [...statuses].sort((a, b) => b.submittedAtMs - a.submittedAtMs);
    replaceContent(
      jobs,
      h('h2', {}, 'Jobs'),
      table(
        [{ label: 'job' }, { label: 'state' }, { label: 'parallelism', number: true }, { label: 'uptime', number: true }, { label: 'records/s', number: true }, { label: 'last checkpoint' }, { label: 'restarts', number: true }, { label: 'submitted' }],
        sorted.map((job) => [
          { value: h('a', { href: `#/jobs/${encodeURIComponent(job.jobId)}`, title: job.jobId }, job.jobName), field: 'job-link' },
          stateBadge(job.state),
          job.parallelism,
          formatDuration(uptimeMs(job, now)),
          { value: formatRate(rates.update(job, now).recordsPerSecond), field: 'records-per-second' },
          lastCheckpointText(job),
          formatCount(job.numRestarts),
          formatTime(job.submittedAtMs),
        ]),
        'No job has been submitted.',
      ),
    );
  }

  return { element, refresh };
}
