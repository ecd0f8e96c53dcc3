// A micro-benchmark of the keyed state backends' hot path: get+put pairs per second, the way a
// keyed counter or reducer touches state once per record. Not a test; run it with
//   node --import tsx worker/state/state-backend.bench.ts [pairsPerRun]
// Scenarios: a hot working set that fits the LevelDB cache, and (LevelDB only) a working set ten
// times the cache, where most reads miss and go to LevelDB.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyGroupRange, assignToKeyGroup } from '../../shared/key-groups.ts';
import { VOID_NAMESPACE, type KeyedStateBackend, type StateKey } from './keyed-state-backend.ts';
import { InMemoryKeyedStateBackend } from './memory-state-backend.ts';
import { LevelDbKeyedStateBackend } from './leveldb-state-backend.ts';

const MAX_PARALLELISM = 128;
const KEY_GROUP_RANGE = KeyGroupRange.of(0, MAX_PARALLELISM - 1);
const PAIRS_PER_RUN = Number(process.argv[2] ?? 3_000_000);
const HOT_KEY_COUNT = 10_000;
const LEVELDB_CACHE_CAPACITY_ENTRIES = 100_000;
const COLD_KEY_COUNT = 10 * LEVELDB_CACHE_CAPACITY_ENTRIES;
const COLD_PAIRS_PER_RUN = Math.min(PAIRS_PER_RUN, 500_000);

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

/** Runs the get+put loop once and returns pairs per second. */
function runCounter(backend: KeyedStateBackend, workload: Workload): number {
  const table = backend.getTable<number>('count');
  const { keys, keyGroups, accessOrder } = workload;
  const started = process.hrtime.bigint();
  for (let i = 0; i < accessOrder.length; i++) {
    const index = accessOrder[i]!;
    backend.setCurrentKey(keys[index]!, keyGroups[index]!);
    const count = table.get(VOID_NAMESPACE);
    table.put(VOID_NAMESPACE, count === undefined ? 1 : count + 1);
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  return accessOrder.length / (elapsedNs / 1e9);
}

/** Like runCounter, with an object value that is read, changed in place and put back (list/aggregate state). */
function runAggregate(backend: KeyedStateBackend, workload: Workload): number {
  const table = backend.getTable<{ count: number; sum: number }>('aggregate');
  const { keys, keyGroups, accessOrder } = workload;
  const started = process.hrtime.bigint();
  for (let i = 0; i < accessOrder.length; i++) {
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
  const elapsedNs = Number(process.hrtime.bigint() - started);
  return accessOrder.length / (elapsedNs / 1e9);
}

function format(pairsPerSecond: number): string {
  return `${(pairsPerSecond / 1e6).toFixed(2)} M get+put/s`;
}

async function measure(
  label: string,
  createBackend: () => Promise<KeyedStateBackend>,
  workload: Workload,
  run: (backend: KeyedStateBackend, workload: Workload) => number,
): Promise<void> {
  const backend = await createBackend();
  try {
    run(backend, workload); // warm-up: JIT, and the working set loaded
    if (backend instanceof LevelDbKeyedStateBackend) await backend.whenFlushed();
    const rates: number[] = [];
    for (let round = 0; round < 3; round++) rates.push(run(backend, workload));
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
const leveldb = async () =>
  LevelDbKeyedStateBackend.create({
    keyGroupRange: KEY_GROUP_RANGE,
    maxParallelism: MAX_PARALLELISM,
    workingDirectory: join(workingRoot, `db-${directoryCount++}`),
    cacheCapacityEntries: LEVELDB_CACHE_CAPACITY_ENTRIES,
  });

try {
  console.log(`${PAIRS_PER_RUN} get+put pairs per round on ${HOT_KEY_COUNT} hot keys, node ${process.version}`);
  const hotStrings = makeWorkload(HOT_KEY_COUNT, PAIRS_PER_RUN, (i) => `user-${i}`);
  const hotComposite = makeWorkload(HOT_KEY_COUNT, PAIRS_PER_RUN, (i) => [`user-${i % 100}`, i]);
  await measure('memory, string keys, number counter', memory, hotStrings, runCounter);
  await measure('memory, string keys, object aggregate', memory, hotStrings, runAggregate);
  await measure('memory, composite keys, number counter', memory, hotComposite, runCounter);
  await measure('leveldb, string keys, number counter (hot, cached)', leveldb, hotStrings, runCounter);
  await measure('leveldb, string keys, object aggregate (hot, cached)', leveldb, hotStrings, runAggregate);
  await measure('leveldb, composite keys, number counter (hot)', leveldb, hotComposite, runCounter);
  const cold = makeWorkload(COLD_KEY_COUNT, COLD_PAIRS_PER_RUN, (i) => `user-${i}`);
  await measure(`leveldb, ${COLD_KEY_COUNT} keys, 10x the cache (cold)`, leveldb, cold, runCounter);
} finally {
  await rm(workingRoot, { recursive: true, force: true });
}
