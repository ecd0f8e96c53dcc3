// Structured JSON logging. Every line carries the context it was created with (application,
// job, worker, epoch …) plus its own fields. Level from SLUICE_LOG_LEVEL (default info).
// Secrets never reach a log line: fields named like credentials are redacted.

import winston from 'winston';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines also carry `context`. */
  child(context: LogFields): Logger;
}

const SECRET_FIELD = /(password|secret|token|credential|apikey|api_key)/i;

export function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_FIELD.test(k) ? '***' : v;
  return out;
}

class WinstonLogger implements Logger {
  constructor(private readonly target: winston.Logger, private readonly context: LogFields) {}
  debug(message: string, fields: LogFields = {}): void {
    this.target.debug(message, redact({ ...this.context, ...fields }));
  }
  info(message: string, fields: LogFields = {}): void {
    this.target.info(message, redact({ ...this.context, ...fields }));
  }
  warn(message: string, fields: LogFields = {}): void {
    this.target.warn(message, redact({ ...this.context, ...fields }));
  }
  error(message: string, fields: LogFields = {}): void {
    this.target.error(message, redact({ ...this.context, ...fields }));
  }
  child(context: LogFields): Logger {
    return new WinstonLogger(this.target, { ...this.context, ...context });
  }
}

/** JSON lines on stderr, so stdout stays the job's own output (print()). */
export function createLogger(context: LogFields = {}, level = process.env.SLUICE_LOG_LEVEL ?? 'info'): Logger {
  const target = winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
  });
  return new WinstonLogger(target, context);
}

/** Keeps lines in memory; for tests that check what was logged. */
export class InMemoryLogger implements Logger {
  readonly lines: Array<{ level: string; message: string } & LogFields> = [];
  constructor(private readonly context: LogFields = {}, private readonly sink?: InMemoryLogger) {}
  private add(level: string, message: string, fields: LogFields = {}): void {
    (this.sink ?? this).lines.push({ level, message, ...redact({ ...this.context, ...fields }) });
  }
  debug(message: string, fields?: LogFields): void {
    this.add('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.add('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.add('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.add('error', message, fields);
  }
  child(context: LogFields): Logger {
    return new InMemoryLogger({ ...this.context, ...context }, this.sink ?? this);
  }
}
