// A small command-line parser for the cluster commands: `--name value`, `--name=value`, boolean
// `--flag`, `-h`, and `--` before positionals. It knows the flags, so an unknown or misspelt one
// is an error naming it rather than a value silently ignored.

import { ConfigurationError } from '../errors.ts';
import { HELP_FLAG, type FlagSpec } from './config-sources.ts';
import { COORDINATOR_FLAGS } from './coordinator-config.ts';
import { WORKER_FLAGS } from './worker-config.ts';

export interface ParsedFlags {
  /** Keyed by flag name without dashes; `true` for a boolean flag given bare. */
  readonly flags: Record<string, string | boolean>;
  readonly positionals: string[];
}

/** Every flag of the coordinator and of the worker. */
export const CLUSTER_FLAGS: readonly FlagSpec[] = [...new Map([...COORDINATOR_FLAGS, ...WORKER_FLAGS].map((f) => [f.name, f])).values()];

/**
 * Parses `argv` (without the node and script paths) against `known` (default: every coordinator
 * and worker flag). Throws ConfigurationError naming an unknown flag, a flag without its value,
 * or a flag given twice.
 */
export function parseFlags(argv: readonly string[], known: readonly FlagSpec[] = CLUSTER_FLAGS): ParsedFlags {
  const byName = new Map(known.map((f) => [f.name, f]));
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      set(HELP_FLAG, true);
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1) throw new ConfigurationError(arg, 'unknown flag; flags are --name value or --name=value; see --help');
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name) ?? (name === HELP_FLAG ? { boolean: true } : undefined);
    if (!spec) throw new ConfigurationError(`--${name}`, 'unknown flag; see --help');
    if (eq !== -1) {
      set(name, arg.slice(eq + 1));
    } else if (spec.boolean) {
      set(name, true);
    } else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) {
        throw new ConfigurationError(`--${name}`, `needs a value (--${name} ${'valueName' in spec ? spec.valueName : 'VALUE'} or --${name}=VALUE)`);
      }
      set(name, value);
      i++;
    }
  }
  return { flags, positionals };

  function set(name: string, value: string | boolean): void {
    if (name in flags) throw new ConfigurationError(`--${name}`, 'given more than once');
    flags[name] = value;
  }
}
