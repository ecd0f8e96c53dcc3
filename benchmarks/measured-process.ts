// Runs a benchmark process and measures what it used, the same way for any engine: CPU time
// (user + system, from /proc/<pid>/stat) and peak resident memory (VmHWM in /proc/<pid>/status),
// sampled until it exits. Linux only, like the machines the benchmarks run on.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface MeasuredRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallSeconds: number;
  /** CPU seconds of the process (user + system), as last sampled before it exited. */
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

const CLOCK_TICKS_PER_SECOND = 100;
const SAMPLE_EVERY_MS = 50;

/** CPU seconds (user + system) and peak RSS of a live process; undefined once it is gone. */
export function sampleProcess(pid: number): { cpuSeconds: number; peakRssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuSeconds, peakRssBytes: hwm ? Number(hwm[1]) * 1024 : 0 };
  } catch {
    return undefined; // exited between samples
  }
}

export function runMeasured(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let last = { cpuSeconds: 0, peakRssBytes: 0 };
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const sampler = setInterval(() => {
      const s = child.pid === undefined ? undefined : sampleProcess(child.pid);
      // An exiting process (a zombie) still has CPU times but no memory figures any more.
      if (s) last = { cpuSeconds: Math.max(last.cpuSeconds, s.cpuSeconds), peakRssBytes: Math.max(last.peakRssBytes, s.peakRssBytes) };
    }, SAMPLE_EVERY_MS);
    const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sampler);
      clearTimeout(timeout);
      resolve({ code, stdout, stderr, wallSeconds: (performance.now() - started) / 1000, ...last });
    });
  });
}
