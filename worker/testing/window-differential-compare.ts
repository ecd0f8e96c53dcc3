// Compares the engine's output of a differential case with the reference model's, as sorted
// multisets of canonical lines, and explains a mismatch: what is missing, what is extra, whether
// records were lost or doubled, and (when there is time) a shrunk input that still disagrees.

import {
  describeEvictor,
  describeSpec,
  describeTrigger,
  eventsToJson,
  processingTimesOf,
  withEvents,
  type DiffCase,
  type DiffEvent,
} from './window-differential-cases.ts';
import { runEngineCase, type EngineOutput } from './window-differential-engine.ts';
import { runFlinkModel } from './window-differential-flink-model.ts';
import { runReferenceModel, type ModelOutput } from './window-differential-reference.ts';

export const TEST_FILE = 'worker/operators/window-operator.differential.test.ts';

export interface MultisetDiff {
  /** Expected lines the engine did not emit (with multiplicity). */
  readonly missing: string[];
  /** Lines the engine emitted that were not expected (with multiplicity). */
  readonly unexpected: string[];
}

export function multisetDiff(expected: readonly string[], actual: readonly string[]): MultisetDiff {
  const counts = new Map<string, number>();
  for (const line of expected) counts.set(line, (counts.get(line) ?? 0) + 1);
  const unexpected: string[] = [];
  for (const line of actual) {
    const n = counts.get(line) ?? 0;
    if (n > 0) counts.set(line, n - 1);
    else unexpected.push(line);
  }
  const missing: string[] = [];
  for (const [line, n] of counts) for (let i = 0; i < n; i++) missing.push(line);
  return { missing: missing.sort(), unexpected: unexpected.sort() };
}

export interface Comparison {
  readonly model: ModelOutput;
  readonly engine: EngineOutput;
  /** One line per kind of disagreement; empty when engine and model agree. */
  readonly problems: string[];
  readonly main: MultisetDiff;
  readonly late: MultisetDiff;
}

/** Ids of the records in a `P` (process function) line. */
function idsOfProcessLine(line: string): number[] {
  const match = / ids=([\d,]*)/.exec(line);
  return match && match[1] ? match[1].split(',').map(Number) : [];
}

function idOfLateLine(line: string): number {
  return Number(/^late id=(\d+)/.exec(line)?.[1]);
}

export function compare(c: DiffCase, model: ModelOutput, engine: EngineOutput): Comparison {
  const problems: string[] = [];
  const main = multisetDiff(model.main, engine.main);
  const late = multisetDiff(model.late, engine.late);
  if (main.missing.length > 0 || main.unexpected.length > 0) {
    problems.push(`main output: ${main.missing.length} expected record(s) missing, ${main.unexpected.length} unexpected record(s) (engine emitted ${engine.main.length}, reference ${model.main.length})`);
  }
  if (late.missing.length > 0 || late.unexpected.length > 0) {
    problems.push(`late side output: ${late.missing.length} missing, ${late.unexpected.length} unexpected (engine ${engine.late.length}, reference ${model.late.length})`);
  }
  if (engine.lateRecordsDropped !== model.droppedLate) {
    problems.push(`numLateRecordsDropped: engine ${engine.lateRecordsDropped}, reference ${model.droppedLate}`);
  }
  if (engine.recordsRead !== c.events.length) problems.push(`the source read ${engine.recordsRead} of ${c.events.length} records`);

  // Conservation, from the engine's output alone where it shows ids: every record is in some
  // window result, or late (side output or counted), or in no window, or waiting in a count
  // window that never filled; no record is late twice or both late and in a window.
  if (c.fn === 'process' || c.fn === 'process-emit-elements') {
    const inWindows = new Set(engine.main.flatMap(idsOfProcessLine));
    const lateIds = engine.late.map(idOfLateLine);
    const lateSet = new Set(lateIds);
    if (lateSet.size !== lateIds.length) problems.push('conservation: a record reached the late side output more than once');
    const both = [...lateSet].filter((id) => inWindows.has(id));
    if (both.length > 0) problems.push(`conservation: record(s) ${both.slice(0, 10).join(',')} are both late and in a window result`);
    const accounted = inWindows.size + lateSet.size + engine.lateRecordsDropped + model.inNoWindow + model.neverFired;
    if (accounted !== c.events.length) {
      const unseen = c.events.filter((e) => !inWindows.has(e.id) && !lateSet.has(e.id)).map((e) => e.id);
      problems.push(
        `conservation: ${c.events.length} records in, but ${inWindows.size} in window results + ${lateSet.size} late + ${engine.lateRecordsDropped} dropped + ` +
          `${model.inNoWindow} in no window + ${model.neverFired} in unfilled count windows = ${accounted} (ids in no result: ${unseen.slice(0, 20).join(',')})`,
      );
    }
  }
  return { model, engine, problems, main, late };
}

/** Whether a case needs Flink's model (triggers, timers and trigger state made explicit) rather than the plain one. */
export function needsFlinkModel(c: DiffCase): boolean {
  const spec = c.spec;
  if (c.trigger !== undefined || c.evictor !== undefined || c.restoreAt !== undefined) return true;
  if (spec.kind === 'count') return spec.slide !== undefined;
  return spec.time === 'processing' || (spec.kind === 'session' && spec.dynamicGap !== undefined);
}

/** The reference output of a case. */
export function referenceOutput(c: DiffCase): ModelOutput {
  return needsFlinkModel(c) ? runFlinkModel(c) : runReferenceModel(c);
}

export async function runAndCompare(c: DiffCase): Promise<Comparison> {
  const model = referenceOutput(c);
  const engine = await runEngineCase(c);
  return compare(c, model, engine);
}

/**
 * Removes records while engine and model still disagree (delta debugging: halves, quarters, …,
 * single records), within `budgetMs`. Ids and timestamps are kept, so lines stay comparable.
 */
export async function shrinkCase(c: DiffCase, budgetMs: number): Promise<{ shrunk: DiffCase; comparison: Comparison; runs: number; complete: boolean }> {
  const deadline = Date.now() + budgetMs;
  let events: readonly DiffEvent[] = c.events;
  let best = await runAndCompare(c);
  let runs = 1;
  let chunk = Math.max(1, Math.floor(events.length / 2));
  let complete = false;
  outer: for (;;) {
    let removedAny = false;
    for (let start = 0; start < events.length; ) {
      if (Date.now() > deadline) break outer;
      const candidate = [...events.slice(0, start), ...events.slice(start + chunk)];
      if (candidate.length === 0) {
        start += chunk;
        continue;
      }
      const comparison = await runAndCompare(withEvents(c, candidate));
      runs++;
      if (comparison.problems.length > 0) {
        events = candidate;
        best = comparison;
        removedAny = true;
      } else {
        start += chunk;
      }
    }
    if (chunk === 1 && !removedAny) {
      complete = true;
      break;
    }
    if (!removedAny || chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
  }
  return { shrunk: withEvents(c, events), comparison: best, runs, complete };
}

function formatWatermark(w: number): string {
  return w === Number.NEGATIVE_INFINITY ? '-inf' : w === Number.POSITIVE_INFINITY ? '+inf' : String(w);
}

export function describeCase(c: DiffCase): string {
  const source = c.source === 'one-file' ? `one JSON Lines file read at parallelism ${c.parallelism}` : 'one source subtask';
  const watermarks = c.watermarkInterval === 'default' ? 'watermarks at the default interval, one interval per poll' : 'watermark interval 0';
  const polls = c.source === 'one-file' && c.watermarkInterval === undefined ? 'the runtime\'s records/poll' : `${c.recordsPerPoll} records/poll`;
  const extras = c.trigger !== undefined || c.evictor !== undefined ? `${describeTrigger(c.trigger)}, ${describeEvictor(c.evictor)}, ` : '';
  const restore =
    c.restoreAt === undefined
      ? ''
      : `, stopped with a checkpoint before input index ${c.restoreAt} and restored${c.crashAt === undefined ? '' : `, failed before index ${c.crashAt} and restored again`}`;
  return (
    `${describeSpec(c.spec)}, ${extras}allowedLateness ${c.allowedLatenessMs} ms, ${c.sideOutput ? 'sideOutputLateData' : 'late records dropped'}, ` +
    `${c.fn}, parallelism ${c.parallelism}, ${c.backend} backend, ${source}, ${watermarks}, forBoundedOutOfOrderness(${c.outOfOrdernessMs}), ` +
    `${polls}, exchange batches of ${c.exchangeBatchSize}${restore}`
  );
}

export function replayCommand(c: DiffCase, events?: readonly DiffEvent[]): string {
  const eventsPart = events ? ` SLUICE_EVENTS='${eventsToJson(events)}'` : '';
  return `SLUICE_SEED=${c.seed} SLUICE_CASE='${c.name}'${eventsPart} node --import tsx --test ${TEST_FILE}`;
}

function listLines(title: string, lines: readonly string[], max = 12): string {
  if (lines.length === 0) return '';
  const shown = lines.slice(0, max).map((l) => `    ${l}`);
  if (lines.length > max) shown.push(`    … and ${lines.length - max} more`);
  return `  ${title} (${lines.length}):\n${shown.join('\n')}\n`;
}

export function describeComparison(comparison: Comparison): string {
  return (
    comparison.problems.map((p) => `  - ${p}\n`).join('') +
    listLines('expected by the reference, not emitted by the engine', comparison.main.missing) +
    listLines('emitted by the engine, not expected by the reference', comparison.main.unexpected) +
    listLines('late records expected on the side output, missing', comparison.late.missing) +
    listLines('late records on the side output, not expected', comparison.late.unexpected)
  );
}

/** The input as a table, with the watermark each record was processed under. */
export function describeInput(c: DiffCase, model: ModelOutput): string {
  const arrivals = c.spec.kind !== 'count' && c.spec.time === 'processing' ? processingTimesOf(c.events) : undefined;
  return c.events
    .map((e, i) => {
      const restore = i === c.restoreAt ? '    -- stop with a checkpoint, restore --\n' : i === c.crashAt ? '    -- failure, restore --\n' : '';
      const arrival = arrivals ? `, arrives at ${arrivals[i]}` : '';
      return `${restore}    #${e.id} key=${JSON.stringify(e.k)} t=${e.t}${arrival} (watermark before: ${formatWatermark(model.watermarkBefore[i]!)})`;
    })
    .join('\n');
}
