// Differential test of the window operator: hundreds of seeded random event streams (few and
// many keys, disorder within and beyond the watermark bound, idle stretches, repeated timestamps,
// late records) go through the real engine for every window kind, window function, allowed
// lateness, late-data handling, parallelism 1 and 4 and both state backends (and one JSON Lines
// file read at parallelism 4, so that three source subtasks have no split), and the output is
// compared, as a sorted multiset of canonical lines, with a naive reference model of Flink's
// WindowOperator (worker/testing/window-differential-reference.ts). Two of the window functions
// (aggregate-acc-result, process-emit-elements) are written as Flink users write them: they hand
// over objects they later change, and one keeps its accumulator in a class. They check that a
// record, once emitted, stays as it was emitted and keeps its class (Flink hands every record on
// as its own copy, of the same type). The other assigners (processing time, dynamic session
// gaps, sliding count windows), the triggers (continuous, count, delta, purging) and the evictors
// (count, time, delta, before and after the function) are compared with a simulation of Flink's
// WindowOperator and EvictingWindowOperator with explicit trigger state and timers
// (worker/testing/window-differential-flink-model.ts), half of them across a stop with a
// checkpoint, a restore, a failure and a second restore.
//
// Replay one case:            SLUICE_SEED=<seed> SLUICE_CASE='<case name>' node --import tsx --test <this file>
// One seed, every case class: SLUICE_SEED=<seed> (a seed the matrix does not use)
// Replay a given input:       add SLUICE_EVENTS='[[id,key,t],…]' (printed, shrunk, with every failure)
// Soak:                       SLUICE_ROUNDS=<n> runs the matrix n times with fresh seeds
// Shrinking budget:           SLUICE_SHRINK_MS, total ms (default 10000, at most 3000 per case; 60000 per case with SLUICE_SEED)

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FUNCTION_KINDS,
  LATENESS_CLASSES,
  TRIGGER_WINDOW_CLASSES,
  WINDOW_CLASSES,
  eventsFromJson,
  isProcessingTimeClass,
  makeEvent,
  resolveCase,
  withEvents,
  type CaseClass,
  type DiffCase,
  type FunctionKind,
  type WindowClass,
  type WindowSpec,
} from '../testing/window-differential-cases.ts';
import { runReferenceModel, type ModelOutput } from '../testing/window-differential-reference.ts';
import { runFlinkModel } from '../testing/window-differential-flink-model.ts';
import {
  describeCase,
  needsFlinkModel,
  describeComparison,
  describeInput,
  replayCommand,
  runAndCompare,
  TEST_FILE,
  shrinkCase,
} from '../testing/window-differential-compare.ts';

const SEEDS_PER_ROUND = 100_000;

/**
 * The matrix: every window kind × function × lateness × late-data handling × parallelism on the
 * memory backend, and a LevelDB subset; then the other assigners, triggers and evictors × function
 * × lateness, with and without a restore (late-data handling and parallelism alternating), and a
 * LevelDB subset of those with a restore. New classes go at the end: a class's seed is its index.
 */
function caseClasses(): CaseClass[] {
  const classes: CaseClass[] = [];
  for (const window of WINDOW_CLASSES) {
    for (const fn of FUNCTION_KINDS) {
      for (const lateness of window === 'count' ? (['L0'] as const) : LATENESS_CLASSES) {
        for (const sideOutput of [false, true]) {
          for (const parallelism of [1, 4]) classes.push({ window, fn, lateness, sideOutput, parallelism, backend: 'memory' });
        }
      }
    }
  }
  let i = 0;
  for (const window of WINDOW_CLASSES) {
    for (const fn of ['reduce', 'aggregate+window', 'process', 'process-emit-elements'] as const satisfies readonly FunctionKind[]) {
      for (const parallelism of [1, 4]) {
        const lateness = window === 'count' ? 'L0' : LATENESS_CLASSES[i % LATENESS_CLASSES.length]!;
        classes.push({ window, fn, lateness, sideOutput: i % 2 === 0, parallelism, backend: 'leveldb' });
        i++;
      }
    }
  }
  // One file read at parallelism 4: the source subtasks without a split must not hold the watermark back.
  let j = 0;
  for (const window of ['tumbling', 'sliding-uneven', 'session'] as const satisfies readonly WindowClass[]) {
    for (const sideOutput of [false, true]) {
      for (const watermarkInterval of [undefined, 'default'] as const) {
        const fn = (['process', 'reduce', 'aggregate+window'] as const)[j % 3]!;
        const lateness = LATENESS_CLASSES[j % LATENESS_CLASSES.length]!;
        classes.push({ window, fn, lateness, sideOutput, parallelism: 4, backend: 'memory', source: 'one-file', ...(watermarkInterval ? { watermarkInterval } : {}) });
        j++;
      }
    }
  }
  let k = 0;
  for (const window of TRIGGER_WINDOW_CLASSES) {
    const noLateness = isProcessingTimeClass(window) || window === 'count-sliding';
    for (const fn of FUNCTION_KINDS) {
      for (const lateness of noLateness ? (['L0'] as const) : LATENESS_CLASSES) {
        // A restore gives accumulators back as plain objects (state keeps data, not classes).
        for (const restore of fn === 'aggregate-acc-result' ? [false] : [false, true]) {
          classes.push({ window, fn, lateness, sideOutput: k % 2 === 0, parallelism: (k >> 1) % 2 === 0 ? 4 : 1, backend: 'memory', ...(restore ? { restore } : {}) });
          k++;
        }
      }
    }
  }
  for (const window of TRIGGER_WINDOW_CLASSES) {
    for (const fn of ['reduce', 'aggregate+window', 'process-emit-elements'] as const satisfies readonly FunctionKind[]) {
      const lateness = isProcessingTimeClass(window) || window === 'count-sliding' ? 'L0' : LATENESS_CLASSES[k % LATENESS_CLASSES.length]!;
      classes.push({ window, fn, lateness, sideOutput: k % 2 === 0, parallelism: k % 2 === 0 ? 1 : 4, backend: 'leveldb', restore: true });
      k++;
    }
  }
  return classes;
}

function selectedCases(): DiffCase[] {
  const classes = caseClasses();
  const rounds = Math.max(1, Number(process.env.SLUICE_ROUNDS ?? 1));
  const seedFilter = replaySeed();
  const nameFilter = process.env.SLUICE_CASE;
  let cases: DiffCase[] = [];
  if (seedFilter === undefined) {
    for (let round = 0; round < rounds; round++) classes.forEach((cls, index) => cases.push(resolveCase(cls, round * SEEDS_PER_ROUND + index + 1)));
  } else {
    // A seed of the matrix replays its case; any other seed runs against every case class.
    const index = (seedFilter - 1) % SEEDS_PER_ROUND;
    const own = index >= 0 && index < classes.length ? [classes[index]!] : [];
    const matching = own.filter((cls) => nameFilter === undefined || resolveCase(cls, seedFilter).name.includes(nameFilter));
    cases = (matching.length > 0 ? matching : classes).map((cls) => resolveCase(cls, seedFilter));
  }
  if (nameFilter !== undefined) cases = cases.filter((c) => c.name.includes(nameFilter));
  if (process.env.SLUICE_EVENTS) {
    const events = eventsFromJson(process.env.SLUICE_EVENTS);
    cases = cases.map((c) => withEvents(c, events));
  }
  return cases;
}

function replaySeed(): number | undefined {
  const text = process.env.SLUICE_SEED;
  if (text === undefined || text.trim() === '') return undefined;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`SLUICE_SEED must be an integer, got ${JSON.stringify(text)}`);
  return seed;
}

const replaying = replaySeed() !== undefined;
let shrinkBudgetMs = Number(process.env.SLUICE_SHRINK_MS ?? (replaying ? 600_000 : 10_000));

/** Runs case `c` on the engine and the model; fails with everything needed to replay and understand it. */
async function checkCase(c: DiffCase, fixedInput = false): Promise<void> {
  const comparison = await runAndCompare(c);
  if (comparison.problems.length === 0) return;

  let message =
    `window operator differs from the Flink reference model\n` +
    `case ${c.name}${fixedInput ? '' : ` seed=${c.seed}`}\n` +
    `  ${describeCase(c)}\n` +
    `  stream: ${c.streamShape}\n` +
    `  replay: ${fixedInput ? `node --import tsx --test --test-name-pattern='${c.name}' ${TEST_FILE}` : replayCommand(c)}\n` +
    describeComparison(comparison);
  if (fixedInput) message += `  input:\n${describeInput(c, comparison.model)}\n`;

  const budget = Math.min(shrinkBudgetMs, replaying ? 60_000 : 3_000);
  if (!fixedInput && budget > 0 && c.events.length > 1) {
    const started = Date.now();
    const { shrunk, comparison: shrunkComparison, runs, complete } = await shrinkCase(c, budget);
    shrinkBudgetMs -= Date.now() - started;
    message +=
      `shrunk to ${shrunk.events.length} of ${c.events.length} records (${runs} runs${complete ? ', 1-minimal' : ', budget spent'}):\n` +
      `${describeInput(shrunk, shrunkComparison.model)}\n` +
      describeComparison(shrunkComparison) +
      `  replay: ${replayCommand(c, shrunk.events)}\n`;
  }
  assert.deepEqual(comparison.problems, [], message);
}

// ---- the reference model's own rules, on inputs small enough to check by hand ---------------

function handCase(
  spec: WindowSpec,
  fn: FunctionKind,
  allowedLatenessMs: number,
  outOfOrdernessMs: number,
  sideOutput: boolean,
  input: Array<[string, number]>,
  name = 'hand',
): DiffCase {
  return {
    window: 'tumbling',
    fn,
    lateness: 'L0',
    sideOutput,
    parallelism: 1,
    backend: 'memory',
    name,
    seed: 0,
    spec,
    allowedLatenessMs,
    outOfOrdernessMs,
    recordsPerPoll: 7,
    exchangeBatchSize: 1024,
    events: input.map(([k, t], id) => makeEvent(id, k, t)),
    streamShape: 'by hand',
  };
}

describe('window differential: the reference model follows Flink', () => {
  it('fires a tumbling window when the watermark passes its end - 1, and sends records of a closed window to the side output', () => {
    const c = handCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'process', 0, 0, true, [['a', 1], ['a', 5], ['a', 12], ['a', 3], ['a', 9]]);
    const out = runReferenceModel(c);
    // t=12 moves the watermark to 11 ≥ 9: [0,10) fires with #0,#1; #3 and #4 come after it.
    assert.deepEqual(out.main, ['P k="a" w=[0,10) ids=0,1 @9', 'P k="a" w=[10,20) ids=2 @19']);
    assert.deepEqual(out.late, ['late id=3 k="a" t=3 @3', 'late id=4 k="a" t=9 @9']);
    assert.deepEqual(out.watermarkBefore, [Number.NEGATIVE_INFINITY, 0, 4, 11, 11]);
  });

  it('re-fires a window with all its elements for each record within the allowed lateness, then cleans it up', () => {
    const c = handCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'process', 5, 0, false, [['a', 1], ['a', 12], ['a', 3], ['a', 15], ['a', 4]]);
    const out = runReferenceModel(c);
    // wm 11: fire {0}; #2 (wm 11 < 9+5) re-fires {0,2}; #3 moves wm to 14 ≥ 14: cleanup; #4 is dropped.
    assert.deepEqual(out.main, ['P k="a" w=[0,10) ids=0 @9', 'P k="a" w=[0,10) ids=0,2 @9', 'P k="a" w=[10,20) ids=1,3 @19']);
    assert.equal(out.droppedLate, 1);
  });

  it('merges sessions that touch, and fires the merged session once', () => {
    const c = handCase({ kind: 'session', gapMs: 10 }, 'process', 0, 100, false, [['a', 0], ['a', 10], ['b', 30], ['a', 25]]);
    const out = runReferenceModel(c);
    assert.deepEqual(out.main.sort(), ['P k="a" w=[0,20) ids=0,1 @19', 'P k="a" w=[25,35) ids=3 @34', 'P k="b" w=[30,40) ids=2 @39']);
  });

  it('fires and purges count windows every n records of a key; leftovers never fire', () => {
    const c = handCase({ kind: 'count', size: 2 }, 'reduce', 0, 0, true, [['a', 5], ['b', 1], ['a', 0], ['a', 9]]);
    const out = runReferenceModel(c);
    assert.deepEqual(out.main, ['R k="a" c=2 s=2 q=4 lo=0 hi=5 @Infinity']);
    assert.equal(out.neverFired, 2);
    assert.deepEqual(out.late, []);
  });

  it('drops without counting a record that falls between sliding windows smaller than their slide', () => {
    const c = handCase({ kind: 'sliding', sizeMs: 3, slideMs: 5, offsetMs: 0 }, 'reduce', 0, 0, true, [['a', 1], ['a', 4], ['a', 6]]);
    const out = runReferenceModel(c);
    assert.deepEqual(out.main, ['R k="a" c=1 s=0 q=0 lo=1 hi=1 @2', 'R k="a" c=1 s=2 q=4 lo=6 hi=6 @7']);
    assert.equal(out.inNoWindow, 1);
    assert.deepEqual(out.late, []);
  });
});

// ---- Flink's model: its own rules by hand, and the plain model's cases agree with it ----------

/** A hand case with a trigger, an evictor, another assigner or a restore. */
function flinkCase(spec: WindowSpec, fn: FunctionKind, input: Array<[string, number]>, extras: Partial<DiffCase> = {}, allowedLatenessMs = 0, outOfOrdernessMs = 0): DiffCase {
  return { ...handCase(spec, fn, allowedLatenessMs, outOfOrdernessMs, true, input, extras.name ?? 'hand'), ...extras };
}

function sameModelOutput(a: ModelOutput, b: ModelOutput): boolean {
  const sorted = (lines: readonly string[]) => [...lines].sort().join('\n');
  return (
    sorted(a.main) === sorted(b.main) &&
    sorted(a.late) === sorted(b.late) &&
    a.droppedLate === b.droppedLate &&
    a.inNoWindow === b.inNoWindow &&
    a.neverFired === b.neverFired
  );
}

describe("window differential: Flink's model of triggers, timers and evictors", () => {
  it('ContinuousEventTimeTrigger fires on multiples of the interval while the window is open, then at its end', () => {
    // [0,10), interval 4: a@1 registers 4 (1 - 1 % 4 = 0, + 4); a@5 goes in, then moves the watermark
    // to 4: fire {0,1}, next 8; a@9 goes in, the watermark 8 fires {0,1,2}; the end (9) fires at the end of input.
    const c = flinkCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'process', [['a', 1], ['a', 5], ['a', 9]], {
      trigger: { kind: 'continuous-event-time', intervalMs: 4, purging: false },
    });
    assert.deepEqual(runFlinkModel(c).main, ['P k="a" w=[0,10) ids=0,1 @9', 'P k="a" w=[0,10) ids=0,1,2 @9', 'P k="a" w=[0,10) ids=0,1,2 @9']);
  });

  it('a purging continuous trigger emits each stretch once; the timer chain goes on over the empty window', () => {
    const c = flinkCase({ kind: 'tumbling', sizeMs: 20, offsetMs: 0 }, 'process', [['a', 1], ['a', 5], ['a', 9], ['a', 18]], {
      trigger: { kind: 'continuous-event-time', intervalMs: 4, purging: true },
    });
    // Fire times 4, 8, 12, 16, then the end 19: {0,1} at wm 4, {2} at wm 8; a@18 moves the watermark
    // to 17: {3} at 12, nothing at 16 (the chain goes on); nothing at the end.
    assert.deepEqual(runFlinkModel(c).main, ['P k="a" w=[0,20) ids=0,1 @19', 'P k="a" w=[0,20) ids=2 @19', 'P k="a" w=[0,20) ids=3 @19']);
  });

  it('countWindow(3, 2): every 2 records of a key, the last 3', () => {
    const c = flinkCase({ kind: 'count', size: 3, slide: 2 }, 'process', [['a', 0], ['a', 1], ['b', 2], ['a', 3], ['a', 4], ['a', 5], ['a', 6]]);
    const out = runFlinkModel(c);
    assert.deepEqual(out.main, ['P k="a" w=G ids=0,1 @Infinity', 'P k="a" w=G ids=1,3,4 @Infinity', 'P k="a" w=G ids=4,5,6 @Infinity']);
  });

  it('CountEvictor before the function: the function sees the last n; after it: all, and the last n stay', () => {
    const input: Array<[string, number]> = [['a', 1], ['a', 2], ['a', 3], ['a', 12]];
    const trigger = { kind: 'count', count: 2, purging: false } as const;
    const before = flinkCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'process', input, { trigger, evictor: { kind: 'count', maxCount: 1, after: false } });
    assert.deepEqual(runFlinkModel(before).main, ['P k="a" w=[0,10) ids=1 @9']);
    const after = flinkCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'process', input, { trigger, evictor: { kind: 'count', maxCount: 1, after: true } });
    assert.deepEqual(runFlinkModel(after).main, ['P k="a" w=[0,10) ids=0,1 @9']);
  });

  it('sessions merge their CountTrigger counts', () => {
    // gap 10: a@0 (count 1), a@20 (count 1), a@10 bridges both: merged count 2 + 1 = 3 fires.
    const c = flinkCase({ kind: 'session', gapMs: 10 }, 'process', [['a', 0], ['a', 20], ['a', 10]], { trigger: { kind: 'count', count: 3, purging: false } }, 0, 100);
    assert.deepEqual(runFlinkModel(c).main, ['P k="a" w=[0,30) ids=0,1,2 @29']);
  });

  it('after a restore the watermark starts again: a window kept for the allowed lateness fires again when a record comes', () => {
    // [0,10) with lateness 100: fires at a@12 (wm 11). Restored before a@5: the watermark is -inf,
    // a@5 goes in and registers the end timer again; a@30 moves the watermark past 9: it fires again.
    const c = flinkCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'process', [['a', 1], ['a', 12], ['a', 5], ['a', 30]], { restoreAt: 2, evictor: { kind: 'count', maxCount: 10, after: false } }, 100);
    assert.deepEqual(runFlinkModel(c).main.filter((l) => l.includes('[0,10)')), ['P k="a" w=[0,10) ids=0 @9', 'P k="a" w=[0,10) ids=0,2 @9']);
  });

  it('processing-time sessions: a record arrives at the highest timestamp so far; the clock jumps ahead at the end', () => {
    // Arrivals 0, 3, 3, 20: gap 5 → [0,8) with #0..#2 fires when #3 arrives at 20; [20,25) at the end.
    const c = flinkCase({ kind: 'session', gapMs: 5, time: 'processing' }, 'process', [['a', 0], ['a', 3], ['a', 1], ['a', 20]]);
    assert.deepEqual(runFlinkModel(c).main, ['P k="a" w=[0,8) ids=0,1,2 @7', 'P k="a" w=[20,25) ids=3 @24']);
  });

  it('agrees with the plain model on every seeded case of the default triggers', () => {
    let checked = 0;
    for (const c of cases) {
      if (needsFlinkModel(c)) continue;
      const plain = runReferenceModel(c);
      const flink = runFlinkModel(c);
      assert.ok(sameModelOutput(plain, flink), `the models differ on ${c.name} seed=${c.seed}:\n${JSON.stringify({ plain: plain.main.length, flink: flink.main.length })}`);
      checked++;
    }
    assert.ok(replaying || checked > 400, `only ${checked} cases checked`);
  });
});

// ---- the engine against the model: the smallest inputs the seeded search has shrunk a ---------
// ---- disagreement to, kept as named cases so a fix shows at once ------------------------------

describe('window differential: minimal cases found by the seeded search', () => {
  const minimal = [
    // Sliding windows smaller than their slide: #2 falls between [0,3) and [20,23), in no window;
    // Flink drops it (not late: 6 + 10 > 4). It must not re-fire [0,3), which fired at watermark 4.
    handCase({ kind: 'sliding', sizeMs: 3, slideMs: 20, offsetMs: 0 }, 'reduce', 10, 0, true, [['a', 0], ['a', 5], ['a', 6]], 'record between sliding windows smaller than the slide (reduce)'),
    handCase({ kind: 'sliding', sizeMs: 3, slideMs: 20, offsetMs: 0 }, 'aggregate', 10, 0, false, [['a', 0], ['a', 5], ['a', 6]], 'record between sliding windows smaller than the slide (aggregate)'),
    // A late record within the allowed lateness re-fires [0,10): two results, {#0} then {#0,#2}.
    // The first, once emitted, must stay {#0} even though the function's objects change later,
    // and the accumulator (a class instance) must reach getResult and the sink as one.
    handCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'aggregate-acc-result', 5, 0, false, [['a', 1], ['a', 12], ['a', 3]], 'late re-firing: an emitted accumulator stays as emitted'),
    handCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'process-emit-elements', 5, 0, false, [['a', 1], ['a', 12], ['a', 3]], 'late re-firing: an emitted element list stays as emitted'),
    handCase({ kind: 'session', gapMs: 5 }, 'process-emit-elements', 20, 0, false, [['a', 1], ['a', 12], ['a', 3]], 'late re-firing of a session: an emitted element list stays as emitted'),
    // Sliding windows computed on panes: a window's panes are merged into a copy, which must
    // still be an instance of the accumulator's class when getResult sees it.
    handCase({ kind: 'sliding', sizeMs: 10, slideMs: 5, offsetMs: 0 }, 'aggregate-acc-result', 0, 0, false, [['a', 1], ['a', 7], ['a', 30]], 'sliding panes: a class accumulator stays an instance of its class'),
  ];
  for (const c of minimal) it(c.name, () => checkCase(c, true));
});

// ---- one JSON Lines file read at parallelism 4: three source subtasks get no split ------------

describe('window differential: one file read at parallelism 4, three source subtasks without a split', () => {
  // #3 and #4 come after #2 moved the watermark to 11: [0,10) has fired, they are late. A watermark
  // held back by the subtasks without a split would let them into [0,10) instead.
  const input: Array<[string, number]> = [['a', 1], ['a', 5], ['a', 12], ['a', 3], ['a', 9], ['b', 25], ['b', 14]];
  const oneFile = (name: string, recordsPerPoll: number, watermarkInterval?: 'default'): DiffCase => ({
    ...handCase({ kind: 'tumbling', sizeMs: 10, offsetMs: 0 }, 'process', 0, 0, true, input, name),
    parallelism: 4,
    source: 'one-file',
    recordsPerPoll,
    ...(watermarkInterval ? { watermarkInterval } : {}),
  });
  const oneFileCases = [
    oneFile('late records reach the side output at watermark interval 0', 7),
    oneFile('late records reach the side output at the default watermark interval', 1, 'default'),
  ];
  it('the reference model sends #3, #4 and #6 to the side output', () => {
    for (const c of oneFileCases) assert.deepEqual(runReferenceModel(c).late, ['late id=3 k="a" t=3 @3', 'late id=4 k="a" t=9 @9', 'late id=6 k="b" t=14 @14'], c.name);
  });
  for (const c of oneFileCases) it(c.name, () => checkCase(c, true));
});

// ---- the engine against the model, seeded ---------------------------------------------------------

const cases = selectedCases();
const byWindow = new Map<string, DiffCase[]>();
for (const c of cases) {
  const group = c.source === 'one-file' ? `${c.window} windows, one file read at parallelism ${c.parallelism} (${c.backend})` : `${c.window} windows (${c.backend})`;
  let list = byWindow.get(group);
  if (!list) byWindow.set(group, (list = []));
  list.push(c);
}

describe(`window differential: engine vs reference, ${cases.length} seeded cases`, () => {
  for (const [group, list] of byWindow) {
    describe(group, () => {
      for (const c of list) it(`${c.name} seed=${c.seed}`, () => checkCase(c));
    });
  }
});
