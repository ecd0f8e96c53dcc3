// The `sluice` command line: dispatches to a command and turns errors into a message and an exit
// code (2: bad usage or configuration, 1: the job or application failed).

import { describeError, errorChainMessage } from '../shared/errors.ts';
import { createLogger } from '../shared/logging.ts';
import { appsCommand } from './apps-command.ts';
import { clientCommand, CLIENT_USAGE } from './cluster-commands.ts';
import { clusterCommand, coordinatorCommand, workerCommand } from './cluster-process-commands.ts';
import { INIT_USAGE, initCommand, parseInitOptions } from './init-command.ts';
import { packageCommand } from './package-command.ts';
import { PACKAGE_USAGE, parsePackageOptions } from './package-options.ts';
import { runCommand } from './run-command.ts';
import { parseRunOptions, RUN_USAGE } from './run-options.ts';

const USAGE = `Usage: sluice <command> [options]

Commands:
  init <folder>       create an application project: package.json, a pipeline, its test (see sluice init --help)
  run <app.ts>        run an application in embedded mode (see sluice run --help)
  coordinator         run a coordinator (see sluice coordinator --help)
  worker              run a worker (see sluice worker --help)
  cluster             start a local cluster: a coordinator and N workers (see sluice cluster --help)
  package <app.ts>    bundle an application into a zip archive, --upload to S3 (see sluice package --help)
  submit <app.ts>     submit an application to a cluster
  list                list the cluster's jobs
  status <job-id>     a job's state, subtasks and checkpoints
  cancel <job-id>     cancel a job
  stop <job-id>       stop a job with a last checkpoint (--snapshot keeps it as a snapshot)
  snapshot <job-id>   take a snapshot (savepoint) of a running job
  snapshots           list, describe or delete snapshots
  rescale <job-id>    change a running job's parallelism (--parallelism N)
  apps <command>      managed applications, as Managed Service for Apache Flink's API has them:
                      create, start, update, snapshot, rollback, stop, ... (see sluice apps --help)
  help                this text
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
      case 'init': {
        const options = parseInitOptions(rest);
        if (options === 'help') {
          process.stdout.write(INIT_USAGE);
          return 0;
        }
        const written = initCommand(options);
        process.stdout.write(`created ${options.folder}: ${written.join(', ')}\nnext: cd ${options.folder} && npm install && npm test && npm start\n`);
        return 0;
      }
      case 'package': {
        const options = parsePackageOptions(rest);
        if (options === 'help') {
          process.stdout.write(PACKAGE_USAGE);
          return 0;
        }
        await packageCommand(options);
        return 0;
      }
      case 'coordinator':
        return await coordinatorCommand(rest, logger);
      case 'worker':
        return await workerCommand(rest, logger);
      case 'cluster':
        return await clusterCommand(rest, logger);
      case 'apps':
        // Reports its own failures: the service's exception by name, exit 1; bad usage, exit 2.
        return await appsCommand(rest);
      case 'submit':
      case 'list':
      case 'status':
      case 'cancel':
      case 'stop':
      case 'snapshot':
      case 'snapshots':
      case 'rescale':
        if (rest.includes('--help') || rest.includes('-h')) {
          process.stdout.write(CLIENT_USAGE);
          return 0;
        }
        return await clientCommand(command, rest);
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
