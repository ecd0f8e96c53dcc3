// The `sluice` command line: dispatches to a command and turns errors into a message and an exit
// code (2: bad usage or configuration, 1: the job or application failed).

import { describeError, errorChainMessage } from '../shared/errors.ts';
import { createLogger } from '../shared/logging.ts';
import { runCommand } from './run-command.ts';
import { parseRunOptions, RUN_USAGE } from './run-options.ts';

const USAGE = `Usage: sluice <command> [options]

Commands:
  run <app.ts>    run an application in embedded mode (see sluice run --help)
  help            this text
`;

export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const logger = createLogger({ pid: process.pid });
  try {
    switch (command) {
      case 'run': {
        const options = parseRunOptions(rest);
        if (options === 'help') {
          process.stdout.write(RUN_USAGE);
          return 0;
        }
        return await runCommand(options, logger);
      }
      default:
        process.stderr.write(`sluice: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    const described = describeError(error);
    logger.error('failed', { error: errorChainMessage(error), errorName: described.name, domain: described.domain });
    process.stderr.write(`sluice: ${errorChainMessage(error)}\n`);
    return described.name === 'ConfigurationError' ? 2 : 1;
  }
}
