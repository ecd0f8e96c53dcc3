// Real services for the benchmarks that need them (Kafka, Kinesis, S3), started the way
// scripts/run-tests.mjs starts them for tests: `scripts/services.sh start <names>` (which reuses
// healthy ones), then the `export` lines of `scripts/services.sh env <names>` go into
// process.env, where the benchmarks' require…() helpers look. Variables already set win, so
// SLUICE_SERVICES=external (or setting the variables yourself) points at services run elsewhere.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SCRIPT = join(root, 'scripts', 'services.sh');

/** Starts (or reuses) the named services and sets their variables; prints what it did. */
export function startServices(names: readonly string[]): void {
  if (names.length === 0) return;
  if (process.env.SLUICE_SERVICES === 'external') {
    process.stderr.write(`services: SLUICE_SERVICES=external, not starting ${names.join(' ')}; using the SLUICE_* variables as set\n`);
    return;
  }
  process.stderr.write(`services: scripts/services.sh start ${names.join(' ')}\n`);
  // Its progress on our stderr; its "reusing …"/"started …" lines on stdout, echoed below.
  const start = spawnSync(SCRIPT, ['start', ...names], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const line of (start.stdout ?? '').split('\n').filter(Boolean)) process.stderr.write(`services: ${line}\n`);
  if (start.status !== 0) throw new Error(`scripts/services.sh start ${names.join(' ')} failed (exit ${start.status}); see its output above`);
  const env = spawnSync(SCRIPT, ['env', ...names], { cwd: root, encoding: 'utf8' });
  const set: string[] = [];
  for (const line of (env.stdout ?? '').split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!match) continue;
    const [, name, value] = match as unknown as [string, string, string];
    if (process.env[name] !== undefined) continue;
    process.env[name] = value;
    if (!/SECRET|PASSWORD/.test(name)) set.push(`${name}=${value}`);
  }
  if (set.length > 0) process.stderr.write(`services: ${set.join(' ')}\n`);
}
