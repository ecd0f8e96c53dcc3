// The sink of the Nexmark queries on a local cluster, where the results land in worker processes
// the harness cannot look into. Each writer counts its results and, in checksum mode, feeds their
// canonical lines to an OutputChecksum (checksum.ts); whenever it pre-commits — at the end of
// input and at any checkpoint — it writes what it has so far to <directory>/subtask-<i>.json,
// replacing the previous file. A bounded job finishes only after its final checkpoint, which
// every sink subtask acknowledges after pre-committing, so once the job is `finished` the files
// are complete; readResultFiles adds them up (the output checksum is a sum, so partial checksums
// of parallel writers combine into the checksum of all results).

import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sink, SinkWriter, SinkWriterContext } from '../../shared/api/connectors.ts';
import { canonicalOutput, OutputChecksum } from './checksum.ts';
import type { QueryName } from './queries.ts';

interface SubtaskResults {
  readonly subtask: number;
  readonly parallelism: number;
  readonly count: number;
  /** The subtask's partial output checksum (checksum mode only). */
  readonly hex?: string;
}

export class ResultFileSink implements Sink<unknown> {
  readonly name = 'Nexmark results';

  constructor(private readonly options: { readonly directory: string; readonly query: QueryName; readonly checksum: boolean }) {}

  createWriter(context: SinkWriterContext): SinkWriter<unknown> {
    const { directory, query, checksum } = this.options;
    const sum = checksum ? new OutputChecksum() : undefined;
    let count = 0;
    const file = join(directory, `subtask-${context.subtaskIndex}.json`);
    return {
      write: sum
        ? (value) => {
            sum.add(canonicalOutput(query, value));
            count++;
          }
        : () => {
            count++;
          },
      prepareCommit: () => {
        const results: SubtaskResults = { subtask: context.subtaskIndex, parallelism: context.parallelism, count, ...(sum ? { hex: sum.hex } : {}) };
        // Written aside and renamed: a reader never sees half a file.
        writeFileSync(`${file}.tmp`, JSON.stringify(results));
        renameSync(`${file}.tmp`, file);
        return undefined;
      },
      commit: async () => {},
      close: () => {},
    };
  }
}

/** What the sink's subtasks wrote: the number of results and, in checksum mode, their checksum. */
export type CollectedResults = { readonly count: number; readonly checksum?: { readonly hex: string; readonly count: number } } | { readonly missing: string };

export function readResultFiles(directory: string): CollectedResults {
  const files = readdirSync(directory).filter((f) => /^subtask-\d+\.json$/.test(f));
  if (files.length === 0) return { missing: `no sink subtask wrote its results to ${directory}` };
  const parts = files.map((f) => JSON.parse(readFileSync(join(directory, f), 'utf8')) as SubtaskResults);
  const parallelism = parts[0]!.parallelism;
  const seen = new Set(parts.map((p) => p.subtask));
  const absent = Array.from({ length: parallelism }, (_, i) => i).filter((i) => !seen.has(i));
  if (absent.length > 0) return { missing: `sink subtasks ${absent.join(', ')} of ${parallelism} wrote no results file` };
  const count = parts.reduce((n, p) => n + p.count, 0);
  if (parts.some((p) => p.hex === undefined)) return { count };
  return { count, checksum: OutputChecksum.combine(parts.map((p) => ({ hex: p.hex!, count: p.count }))) };
}
