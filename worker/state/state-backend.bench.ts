// A micro-benchmark of the keyed state backends' hot path: get+put pairs per second, the way a
// keyed counter or reducer touches state once per record. Not a test; run it with
//   node --import tsx worker/state/state-backend.bench.ts [pairsPerRound]
// Records are processed in batches with a turn of the event loop between batches, as the task
// runtime does, so the LevelDB backend's background batch writes run as they would in a job.
// Scenarios: a hot working set that fits the LevelDB cache, and (LevelDB only) a working set ten
// times the cache, where most reads miss and go to LevelDB.

import { mkdtemp, rm } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyGroupRange, assignToKeyGroup } from '../../shared/key-groups.ts';
import { VOID_NAMESPACE, type KeyedStateBackend, type StateKey } from './keyed-state-backend.ts';
import { InMemoryKeyedStateBackend } from './memory-state-backend.ts';
import { DEFAULT_CACHE_CAPACITY_ENTRIES } from '../../shared/config/state-backend.ts';
import { LevelDbKeyedStateBackend } from './leveldb-state-backend.ts';

const MAX_PARALLELISM = 128;
const KEY_GROUP_RANGE = KeyGroupRange.of(0, MAX_PARALLELISM - 1);
const PAIRS_PER_RUN = Number(process.argv[2] ?? 3_000_000);
const RECORDS_PER_BATCH = 1_000;
const HOT_KEY_COUNT = 10_000;
/** The cold scenario shrinks the cache instead of growing the key set, to keep the run short. */
const COLD_CACHE_CAPACITY_ENTRIES = 20_000;
const COLD_KEY_COUNT = 10 * COLD_CACHE_CAPACITY_ENTRIES;
const COLD_PAIRS_PER_RUN = Math.min(PAIRS_PER_RUN, 200_000);

interface Workload {
  readonly keys: StateKey[];
  readonly keyGroups: number[];
  /** Indexes into keys, in access order: precomputed so the loop measures the backend only. */
  readonly accessOrder: Uint32Array;
}

function makeWorkload(keyCount: number, pairCount: number, keyOf: (i: number) => StateKey): Workload {
  const keys: StateKey[] = [];
  const keyGroups: number[] = [];
  for (let i = 0; i < keyCount; i++) {
    const key = keyOf(i);
    keys.push(key);
    keyGroups.push(assignToKeyGroup(key, MAX_PARALLELISM));
  }
  const accessOrder = new Uint32Array(pairCount);
  let seed = 12345;
  for (let i = 0; i < pairCount; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    accessOrder[i] = seed % keyCount;
  }
  return { keys, keyGroups, accessOrder };
}

type ProcessBatch = (backend: KeyedStateBackend, workload: Workload, from: number, to: number) => void;

/** A keyed counter: a number read and put back per record. */
const countPerKey: ProcessBatch = (backend, { keys, keyGroups, accessOrder }, from, to) => {
  const table = backend.getTable<number>('count');
  for (let i = from; i < to; i++) {
    const index = accessOrder[i]!;
    backend.setCurrentKey(keys[index]!, keyGroups[index]!);
    const count = table.get(VOID_NAMESPACE);
    table.put(VOID_NAMESPACE, count === undefined ? 1 : count + 1);
  }
};

/** An object read, changed in place and put back per record, as list, map and aggregating state do. */
const aggregatePerKey: ProcessBatch = (backend, { keys, keyGroups, accessOrder }, from, to) => {
  const table = backend.getTable<{ count: number; sum: number }>('aggregate');
  for (let i = from; i < to; i++) {
    const index = accessOrder[i]!;
    backend.setCurrentKey(keys[index]!, keyGroups[index]!);
    const aggregate = table.get(VOID_NAMESPACE);
    if (aggregate === undefined) table.put(VOID_NAMESPACE, { count: 1, sum: i });
    else {
      aggregate.count++;
      aggregate.sum += i;
      table.put(VOID_NAMESPACE, aggregate);
    }
  }
};

/** Runs the workload once, batch by batch with an event-loop turn between batches; returns pairs per second. */
async function runRound(backend: KeyedStateBackend, workload: Workload, processBatch: ProcessBatch): Promise<number> {
  const total = workload.accessOrder.length;
  const started = process.hrtime.bigint();
  for (let from = 0; from < total; from += RECORDS_PER_BATCH) {
    processBatch(backend, workload, from, Math.min(from + RECORDS_PER_BATCH, total));
    await nextTurn();
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  return total / (elapsedNs / 1e9);
}

function format(pairsPerSecond: number): string {
  return `${(pairsPerSecond / 1e6).toFixed(2)} M get+put/s`;
}

async function measure(
  label: string,
  createBackend: () => Promise<KeyedStateBackend>,
  workload: Workload,
  processBatch: ProcessBatch,
): Promise<void> {
  const backend = await createBackend();
  try {
    await runRound(backend, workload, processBatch); // warm-up: JIT, and the working set loaded
    if (backend instanceof LevelDbKeyedStateBackend) await backend.whenFlushed();
    const rates: number[] = [];
    for (let round = 0; round < 3; round++) rates.push(await runRound(backend, workload, processBatch));
    const started = process.hrtime.bigint();
    await backend.snapshot();
    const snapshotMs = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(
      `${label.padEnd(52)} best ${format(Math.max(...rates))}  (rounds: ${rates.map((r) => (r / 1e6).toFixed(2)).join(', ')})  snapshot ${snapshotMs.toFixed(0)} ms`,
    );
  } finally {
    await backend.dispose();
  }
}

const workingRoot = await mkdtemp(join(tmpdir(), 'sluice-state-bench-'));
let directoryCount = 0;
const memory = async () => new InMemoryKeyedStateBackend({ keyGroupRange: KEY_GROUP_RANGE, maxParallelism: MAX_PARALLELISM });
const leveldbWithCache = (cacheCapacityEntries: number) => async () =>
  LevelDbKeyedStateBackend.create({
    keyGroupRange: KEY_GROUP_RANGE,
    maxParallelism: MAX_PARALLELISM,
    workingDirectory: join(workingRoot, `db-${directoryCount++}`),
    cacheCapacityEntries,
  });
const leveldb = leveldbWithCache(DEFAULT_CACHE_CAPACITY_ENTRIES);

try {
  console.log(`${PAIRS_PER_RUN} get+put pairs per round on ${HOT_KEY_COUNT} hot keys, node ${process.version}`);
  const hotStrings = makeWorkload(HOT_KEY_COUNT, PAIRS_PER_RUN, (i) => `user-${i}`);
  const hotComposite = makeWorkload(HOT_KEY_COUNT, PAIRS_PER_RUN, (i) => [`user-${i % 100}`, i]);
  await measure('memory, string keys, number counter', memory, hotStrings, countPerKey);
  await measure('memory, string keys, object aggregate', memory, hotStrings, aggregatePerKey);
  await measure('memory, composite keys, number counter', memory, hotComposite, countPerKey);
  await measure('leveldb, string keys, number counter (hot, cached)', leveldb, hotStrings, countPerKey);
  await measure('leveldb, string keys, object aggregate (hot, cached)', leveldb, hotStrings, aggregatePerKey);
  await measure('leveldb, composite keys, number counter (hot)', leveldb, hotComposite, countPerKey);
  const cold = makeWorkload(COLD_KEY_COUNT, COLD_PAIRS_PER_RUN, (i) => `user-${i}`);
  await measure(`leveldb, ${COLD_KEY_COUNT} keys, 10x a ${COLD_CACHE_CAPACITY_ENTRIES}-entry cache (cold)`, leveldbWithCache(COLD_CACHE_CAPACITY_ENTRIES), cold, countPerKey);
} finally {
  await rm(workingRoot, { recursive: true, force: true });
}
