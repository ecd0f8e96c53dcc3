// One job: its graph coloured by load, each subtask's counters and rates, watermarks, checkpoints,
// the last rescale and its state history; and the actions (snapshot, stop with snapshot, rescale),
// each behind a confirmation. The frame and the action bar are built once, so a refresh does not
// wipe what the user is typing; the sections are filled again from every poll.

import { apiGet, apiPost } from './api.mjs';
import { confirmAction } from './confirm-dialog.mjs';
import { facts, h, replaceContent, stateBadge, table } from './dom.mjs';
import { formatBytes, formatCount, formatDuration, formatRate, formatShare, formatTime, formatWatermark } from './format.mjs';
import { busyColour, jobGraph } from './job-graph.mjs';
import { JobRates } from './job-rates.mjs';
import { lastCheckpointText, takesActions, uptimeMs } from './job-summary.mjs';
import { showNotice } from './notice.mjs';

/** Checkpoints the page has seen complete, newest first: the status carries only the latest. */
const CHECKPOINTS_REMEMBERED = 10;

export function jobView(jobId) {
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`;
  const rates = new JobRates();
  const seenCheckpoints = [];
  let job;
  /** An action is in flight: its buttons stay disabled whatever the polls say. */
  let acting = false;

  const title = h('h1', {}, jobId);
  const subtitle = h('p', { class: 'subtitle' });
  const summary = h('section', { class: 'panel', id: 'job-summary' });
  const graph = h('div', { class: 'graph', id: 'job-graph' });
  const subtasks = h('section', { class: 'panel', id: 'subtasks' });
  const checkpoints = h('section', { class: 'panel', id: 'checkpoints' });
  const rescale = h('section', { class: 'panel', id: 'rescale' });
  const history = h('section', { class: 'panel', id: 'history' });

  const parallelismInput = h('input', { type: 'number', min: 1, id: 'rescale-parallelism', 'aria-label': 'new parallelism' });
  const snapshotButton = h('button', { type: 'button', id: 'action-snapshot', onclick: () => takeSnapshot() }, 'Take snapshot');
  const stopButton = h('button', { type: 'button', id: 'action-stop', class: 'danger', onclick: () => stopWithSnapshot() }, 'Stop with snapshot');
  const rescaleButton = h('button', { type: 'button', id: 'action-rescale', onclick: () => rescaleTo() }, 'Rescale');
  const actionButtons = [snapshotButton, stopButton, rescaleButton];

  const element = h(
    'div',
    {},
    h('p', {}, h('a', { href: '#/' }, '← Overview')),
    title,
    subtitle,
    h('section', { class: 'panel actions', id: 'actions' }, snapshotButton, stopButton, h('label', {}, 'parallelism', parallelismInput), rescaleButton),
    summary,
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Job graph'),
      graph,
      h(
        'div',
        { class: 'legend' },
        h('span', {}, h('span', { class: 'swatch', style: `background:${busyColour(0)}` }), 'idle'),
        h('span', {}, h('span', { class: 'swatch', style: `background:${busyColour(0.5)}` }), 'half busy'),
        h('span', {}, h('span', { class: 'swatch', style: `background:${busyColour(1)}` }), 'busy'),
        h('span', {}, h('span', { class: 'swatch', style: 'background:#24292f' }), 'bar: backpressured share'),
        h('span', {}, 'the highest of the task’s subtasks, over the last second'),
      ),
    ),
    subtasks,
    h('div', { class: 'grid' }, checkpoints, rescale),
    history,
  );

  async function refresh() {
    job = await apiGet(path);
    const now = Date.now();
    const sample = rates.update(job, now);
    rememberCheckpoint(job.checkpoints.latest);
    title.textContent = job.jobName;
    subtitle.textContent = `job ${job.jobId} · submitted ${formatTime(job.submittedAtMs)} · updated every second`;
    for (const button of actionButtons) button.disabled = acting || !takesActions(job);
    parallelismInput.max = String(job.maxParallelism);
    if (parallelismInput.value === '') parallelismInput.placeholder = String(job.parallelism);

    replaceContent(
      summary,
      h('h2', {}, 'Job'),
      facts([
        ['state', stateBadge(job.state)],
        ['attempt', String(job.attempt)],
        ['parallelism (max)', `${job.parallelism} (${job.maxParallelism})`, 'parallelism'],
        ['uptime', formatDuration(uptimeMs(job, now))],
        ['records/s (sources)', formatRate(sample.recordsPerSecond), 'records-per-second'],
        ['restarts', formatCount(job.numRestarts)],
        ['last checkpoint', lastCheckpointText(job)],
      ]),
      job.failure ? h('p', { class: 'notice error' }, `Failure: ${job.failure}`) : null,
    );
    replaceContent(graph, jobGraph(job, sample));
    replaceContent(subtasks, h('h2', {}, 'Subtasks'), subtaskTable(job, sample));
    replaceContent(checkpoints, h('h2', {}, 'Checkpoints'), checkpointFacts(job), checkpointHistory());
    replaceContent(rescale, h('h2', {}, 'Last rescale'), rescaleFacts(job.lastRescale));
    replaceContent(history, h('h2', {}, 'State history'), transitionTable(job.transitions));
  }

  function rememberCheckpoint(latest) {
    if (!latest || seenCheckpoints[0]?.checkpointId === latest.checkpointId) return;
    seenCheckpoints.unshift({ ...latest, seenAtMs: Date.now() });
    seenCheckpoints.length = Math.min(seenCheckpoints.length, CHECKPOINTS_REMEMBERED);
  }

  function checkpointHistory() {
    return [
      h('h2', { style: 'margin-top:14px' }, 'Completed, seen since this page opened'),
      table(
        [{ label: 'checkpoint', number: true }, { label: 'duration', number: true }, { label: 'size', number: true }, { label: 'seen at' }],
        seenCheckpoints.map((c) => [`#${c.checkpointId}${c.final ? ' (final)' : ''}`, formatDuration(c.durationMs), formatBytes(c.bytes), formatTime(c.seenAtMs)]),
        'None yet.',
      ),
    ];
  }

  async function takeSnapshot() {
    const confirmed = await confirmAction({
      title: 'Take a snapshot?',
      message: `A checkpoint of "${job.jobName}" is taken now and copied into a snapshot, which outlives the job. The job keeps running.`,
      confirmLabel: 'Take snapshot',
    });
    if (!confirmed) return;
    await act('Taking a snapshot…', async () => {
      const snapshot = await apiPost(`${path}/snapshots`, {});
      return `Snapshot ${snapshot.name} taken from checkpoint #${snapshot.checkpointId} (${formatBytes(snapshot.bytes)}).`;
    });
  }

  async function stopWithSnapshot() {
    const confirmed = await confirmAction({
      title: 'Stop the job with a snapshot?',
      message: `"${job.jobName}" takes a last checkpoint (its sinks commit), keeps it as a snapshot and stops. It can be started again from that snapshot.`,
      confirmLabel: 'Stop with snapshot',
      danger: true,
    });
    if (!confirmed) return;
    await act('Stopping with a snapshot…', async () => {
      const result = await apiPost(`${path}/stop`, { snapshot: true });
      return `Job stopped (${result.state}) after checkpoint #${result.checkpointId}${result.snapshot ? `; snapshot ${result.snapshot.name}` : ''}.`;
    });
  }

  async function rescaleTo() {
    const parallelism = Number(parallelismInput.value);
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > job.maxParallelism) {
      showNotice(`Give a parallelism between 1 and ${job.maxParallelism} (the job's max parallelism).`, { error: true });
      return;
    }
    const confirmed = await confirmAction({
      title: `Rescale to ${parallelism}?`,
      message: `"${job.jobName}" goes from parallelism ${job.parallelism} to ${parallelism}: live where its shape allows, else by a restart from a checkpoint.`,
      confirmLabel: 'Rescale',
    });
    if (!confirmed) return;
    await act(`Rescaling to ${parallelism}…`, async () => {
      const result = await apiPost(`${path}/rescale`, { parallelism });
      parallelismInput.value = '';
      return `Rescaled from ${result.from} to ${result.to} (${result.mode}, paused ${formatDuration(result.pauseMs)}).`;
    });
  }

  /** Runs an action with the buttons disabled; says what it did, or the API's reason for refusing. */
  async function act(pending, run) {
    acting = true;
    for (const button of actionButtons) button.disabled = true;
    showNotice(pending);
    try {
      showNotice(await run());
    } catch (error) {
      showNotice(`Refused: ${error.message}`, { error: true });
    } finally {
      acting = false;
      await refresh().catch(() => {});
    }
  }

  return { element, refresh };
}

function subtaskTable(job, sample) {
  return table(
    [
      { label: 'task' },
      { label: 'subtask', number: true },
      { label: 'worker' },
      { label: 'state' },
      { label: 'records in', number: true },
      { label: 'records out', number: true },
      { label: 'in/s', number: true },
      { label: 'out/s', number: true },
      { label: 'busy', number: true },
      { label: 'backpressured', number: true },
      { label: 'watermark' },
      { label: 'late dropped', number: true },
    ],
    job.subtasks.map((s) => {
      const r = JobRates.ofSubtask(sample, s);
      return [
        s.taskName,
        s.subtask,
        s.workerId,
        s.state,
        { value: formatCount(s.recordsIn), field: 'records-in' },
        { value: formatCount(s.recordsOut), field: 'records-out' },
        formatRate(r.inPerSecond),
        formatRate(r.outPerSecond),
        formatShare(r.busy),
        `${formatShare(r.backPressured)}${s.backPressured ? ' (now)' : ''}`,
        formatWatermark(s.watermark),
        formatCount(s.lateRecordsDropped),
      ];
    }),
    'No subtask reported yet (the job is not running on any worker).',
  );
}

function checkpointFacts(job) {
  const c = job.checkpoints;
  return facts([
    ['completed', formatCount(c.completed), 'checkpoints-completed'],
    ['failed', formatCount(c.failed)],
    ['failed in a row', formatCount(c.consecutiveFailed)],
    ['in progress', c.inProgress === null ? 'none' : `#${c.inProgress}`],
    ['latest', lastCheckpointText(job)],
    ['periodic', c.periodic.enabled ? `every ${formatDuration(c.periodic.intervalMs)} (${c.periodic.source})` : 'off'],
  ]);
}

function rescaleFacts(lastRescale) {
  if (!lastRescale) return h('p', { class: 'empty' }, 'Never rescaled.');
  return facts([
    ['from → to', `${lastRescale.from} → ${lastRescale.to}`],
    ['how', lastRescale.mode],
    ['checkpoint', `#${lastRescale.checkpointId}`],
    ['longest pause', formatDuration(lastRescale.pauseMs)],
  ]);
}

function transitionTable(transitions) {
  return table(
    [{ label: 'at' }, { label: 'from' }, { label: 'to' }, { label: 'reason' }],
    [...transitions].reverse().map((t) => [formatTime(t.atMs), t.from, t.to, t.reason]),
    'No transition yet.',
  );
}
