// The splits of a FileSource and what a checkpoint keeps of them. Each file is one split (Flink's
// FileSourceSplit) whose position says where its next record starts. A monitored source also has
// discovery splits, the part of Flink's checkpointed enumerator state that this runtime can carry:
// discovery split k of N owns the files whose path hashes to k, lists the folders every interval
// and hands each new file of its own to its reader as a split, remembering it in
// `alreadyProcessedPaths`. A discovery split moves with checkpoints, restores and rescales like any
// split, so exactly one reader holds it at any time and no file is handed out twice.

import { RestoreError } from '../../../shared/errors.ts';

/** Where a file split stands. Text formats add `byteOffset` and `lineNumber`, Parquet `rowIndex`. */
export interface FilePositionBase {
  /** The file's size when it was found: the split is these bytes (a file still growing is read to here). */
  readonly fileSize: number;
  /** Every record was read. */
  readonly finished: boolean;
}

/** JSON lines and CSV: the next record starts at this byte, on this (1-based) line. */
export interface TextFilePosition extends FilePositionBase {
  readonly byteOffset: number;
  readonly lineNumber: number;
}

/** Parquet: the (0-based) index of the next row to read. */
export interface ParquetFilePosition extends FilePositionBase {
  readonly rowIndex: number;
}

export type FileSplitPosition = TextFilePosition | ParquetFilePosition;

/** A discovery split's position: its share of the paths and the files of that share already handed out. */
export interface FileDiscoveryPosition {
  readonly partition: number;
  readonly partitions: number;
  /** Sorted. Flink's name for the same set in its enumerator checkpoint. */
  readonly alreadyProcessedPaths: readonly string[];
}

const DISCOVERY_SPLIT_PREFIX = 'file-discovery-';

export function discoverySplitId(partition: number, partitions: number): string {
  return `${DISCOVERY_SPLIT_PREFIX}${partition}-of-${partitions}`;
}

/** File split ids are absolute paths or s3:// URLs, so this prefix cannot name a file. */
export function isDiscoverySplitId(id: string): boolean {
  return id.startsWith(DISCOVERY_SPLIT_PREFIX);
}

/**
 * The discovery partition that owns `path`: FNV-1a (32 bit) of its UTF-16 code units, mod
 * `partitions`. Frozen once checkpoints exist: another hash would give files to partitions that
 * never saw them, and those would read them a second time.
 */
export function discoveryPartitionOf(path: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) {
    hash ^= path.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/** The discovery splits of a fresh job: `partitions` of them, each knowing its share of `initialPaths`. */
export function initialDiscoverySplits(partitions: number, initialPaths: readonly string[]): Array<{ id: string; position: FileDiscoveryPosition }> {
  const shares: string[][] = Array.from({ length: partitions }, () => []);
  for (const path of initialPaths) shares[discoveryPartitionOf(path, partitions)]!.push(path);
  return shares.map((paths, partition) => ({
    id: discoverySplitId(partition, partitions),
    position: { partition, partitions, alreadyProcessedPaths: paths.sort() },
  }));
}

export function parseDiscoveryPosition(label: string, id: string, position: unknown): FileDiscoveryPosition {
  const p = position as Partial<FileDiscoveryPosition> | null;
  const valid =
    typeof p === 'object' &&
    p !== null &&
    Number.isSafeInteger(p.partitions) &&
    p.partitions! >= 1 &&
    Number.isSafeInteger(p.partition) &&
    p.partition! >= 0 &&
    p.partition! < p.partitions! &&
    id === discoverySplitId(p.partition!, p.partitions!) &&
    Array.isArray(p.alreadyProcessedPaths) &&
    p.alreadyProcessedPaths.every((path) => typeof path === 'string');
  if (!valid) {
    throw new RestoreError(`${label}: discovery split ${id} has position ${JSON.stringify(position).slice(0, 200)}; expected { partition, partitions, alreadyProcessedPaths }`);
  }
  return p as FileDiscoveryPosition;
}

/** Checks the fields every file split has; the format checks its own. */
export function parsePositionBase(label: string, id: string, position: unknown): FilePositionBase & Record<string, unknown> {
  const p = position as Partial<FilePositionBase> | null;
  const valid = typeof p === 'object' && p !== null && Number.isSafeInteger(p.fileSize) && p.fileSize! >= 0 && typeof p.finished === 'boolean';
  if (!valid) throw new RestoreError(`${label}: split ${id} has position ${JSON.stringify(position)}; expected { fileSize >= 0, finished, … }`);
  return p as FilePositionBase & Record<string, unknown>;
}
