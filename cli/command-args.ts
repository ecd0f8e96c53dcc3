// A sluice command's arguments through node:util's parseArgs (positionals allowed, unknown flags
// refused), its error turned into a ConfigurationError that names the flag and the command's help.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigurationError } from '../shared/errors.ts';

type CommandArgs<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: O }>>;

export function parseCommandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: O, command: string): CommandArgs<O> {
  try {
    return parseArgs({ args: [...args], allowPositionals: true, strict: true, options });
  } catch (error) {
    const message = (error as Error).message;
    const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? 'arguments';
    throw new ConfigurationError(flag, `${message.split('. ')[0]}; see sluice ${command} --help`);
  }
}
