// The job graph as SVG: each task a box (name, parallelism, records in/out per second, busy and
// backpressured shares), edges from the tasks that feed it, labelled with their partitioning.
// Tasks sit in columns by their distance from a source. A box's fill goes from blue (idle) to red
// (busy), as in Flink's web UI; a dark bar along its bottom grows with the time it was backpressured.

import { s } from './dom.mjs';
import { formatRate, formatShare } from './format.mjs';
import { JobRates } from './job-rates.mjs';

const BOX_WIDTH = 270;
const BOX_HEIGHT = 78;
const COLUMN_GAP = 90;
const ROW_GAP = 26;
const MARGIN = 12;

/** Builds the SVG of a job's graph from its status (tasks, edges) and the latest rates. */
export function jobGraph(job, rates) {
  const positions = layout(job.tasks, job.edges ?? []);
  const columns = Math.max(...[...positions.values()].map((p) => p.column)) + 1;
  const rows = Math.max(...[...positions.values()].map((p) => p.row)) + 1;
  const width = MARGIN * 2 + columns * BOX_WIDTH + (columns - 1) * COLUMN_GAP;
  const height = MARGIN * 2 + rows * BOX_HEIGHT + (rows - 1) * ROW_GAP;
  const at = (taskId) => {
    const { column, row } = positions.get(taskId);
    return { x: MARGIN + column * (BOX_WIDTH + COLUMN_GAP), y: MARGIN + row * (BOX_HEIGHT + ROW_GAP) };
  };
  return s(
    'svg',
    { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `job graph of ${job.jobName}` },
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' }, s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8c959f' }))),
    (job.edges ?? []).map((edge) => edgePath(edge, at(edge.fromTaskId), at(edge.toTaskId))),
    job.tasks.map((task) => taskBox(task, at(task.id), JobRates.ofTask(rates, job, task.id))),
  );
}

/** Column: the longest path from a source (tasks come in topological order); row: the order within the column. */
function layout(tasks, edges) {
  const column = new Map();
  for (const task of tasks) {
    const upstream = edges.filter((e) => e.toTaskId === task.id).map((e) => (column.get(e.fromTaskId) ?? 0) + 1);
    column.set(task.id, Math.max(0, ...upstream));
  }
  const rowsUsed = new Map();
  const positions = new Map();
  for (const task of tasks) {
    const c = column.get(task.id);
    const row = rowsUsed.get(c) ?? 0;
    rowsUsed.set(c, row + 1);
    positions.set(task.id, { column: c, row });
  }
  return positions;
}

function taskBox(task, { x, y }, rates) {
  const backPressureWidth = (rates.backPressured ?? 0) * BOX_WIDTH;
  return s(
    'g',
    { class: 'task-box', 'data-task-id': task.id, transform: `translate(${x},${y})` },
    s('title', {}, `${task.name}\nparallelism ${task.parallelism}`),
    s('rect', { width: BOX_WIDTH, height: BOX_HEIGHT, rx: 6, fill: busyColour(rates.busy), stroke: '#57606a', 'stroke-width': 1 }),
    s('rect', { class: 'backpressure-bar', x: 0, y: BOX_HEIGHT - 6, width: backPressureWidth, height: 6, fill: '#24292f' }),
    s('text', { class: 'task-name', x: 10, y: 20 }, truncate(task.name, 33)),
    s('text', { class: 'task-detail', x: 10, y: 38, 'data-field': 'parallelism' }, `parallelism ${task.parallelism}${task.isSource ? ' · source' : ''}`),
    s('text', { class: 'task-detail', x: 10, y: 53, 'data-field': 'rates' }, `in ${formatRate(rates.inPerSecond)} · out ${formatRate(rates.outPerSecond)}`),
    s('text', { class: 'task-detail', x: 10, y: 67, 'data-field': 'busy' }, `busy ${formatShare(rates.busy)} · backpressured ${formatShare(rates.backPressured)}`),
  );
}

function edgePath(edge, from, to) {
  const x1 = from.x + BOX_WIDTH;
  const y1 = from.y + BOX_HEIGHT / 2;
  const x2 = to.x;
  const y2 = to.y + BOX_HEIGHT / 2;
  const bend = (x2 - x1) / 2;
  return s(
    'g',
    { class: 'edge-group', 'data-from': edge.fromTaskId, 'data-to': edge.toTaskId },
    s('path', { class: 'edge', d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)' }),
    s('text', { class: 'edge-label', x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, 'text-anchor': 'middle' }, edge.partitioning),
  );
}

/** Blue (idle) to red (busy all the time); grey while no rate is known. */
export function busyColour(busy) {
  if (busy === undefined) return '#eaeef2';
  const hue = 210 - 210 * busy;
  return `hsl(${hue.toFixed(0)}, 70%, ${(88 - 20 * busy).toFixed(0)}%)`;
}

function truncate(text, length) {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
