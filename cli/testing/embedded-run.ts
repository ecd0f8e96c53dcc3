// For tests of packaged applications: runs an application file through `sluice run`'s own code
// path (embedded, bounded, checkpoints only at the end) and reads the JSON lines it committed.

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../shared/logging.ts';
import { runCommand } from '../run-command.ts';
import { parseRunOptions } from '../run-options.ts';

/** Runs `application` to completion with `properties` (GROUP.KEY=VALUE); working files go under `workDirectory`. */
export async function runEmbedded(application: string, properties: readonly string[], workDirectory: string): Promise<number> {
  const options = parseRunOptions([
    application,
    '--job-name', 'packaged-app-test',
    '--checkpoint-interval', 'off',
    '--checkpoint-dir', join(workDirectory, 'checkpoints'),
    '--dead-letter-path', join(workDirectory, 'dead-letter.jsonl'),
    ...properties.flatMap((property) => ['--property', property]),
  ]);
  if (options === 'help') throw new Error('unreachable');
  return runCommand(options, createLogger({ test: 'packaged-app' }, process.env.SLUICE_LOG_LEVEL ?? 'warn'));
}

/** Every line of the committed part files (`*.jsonl` without a leading dot) in `directory`. */
export async function committedLines(directory: string): Promise<string[]> {
  const files = (await fs.readdir(directory)).filter((name) => name.endsWith('.jsonl') && !name.startsWith('.')).sort();
  const lines: string[] = [];
  for (const file of files) lines.push(...(await fs.readFile(join(directory, file), 'utf8')).split('\n').filter((line) => line !== ''));
  return lines;
}
