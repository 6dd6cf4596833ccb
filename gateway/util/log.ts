/**
 * A small structured logger writing logfmt lines (`ts level component msg key=value`), readable on a console and
 * parseable by journald/Loki without a JSON pipeline on the pole.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(component: string, fields?: LogFields): Logger;
}

export interface LogSink {
  write(line: string): void;
}

export function createLogger(opts: { level?: LogLevel; sink?: LogSink; component?: string } = {}): Logger {
  const sink = opts.sink ?? process.stdout;
  return makeLogger(rank[opts.level ?? 'info'], sink, opts.component ?? 'gateway', '');
}

/** A logger that drops everything; for unit tests and benchmarks. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

function makeLogger(min: number, sink: LogSink, component: string, bound: string): Logger {
  const log = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (rank[level] < min) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${component} ${quote(msg)}${bound}`;
    if (fields) line += formatFields(fields);
    sink.write(line + '\n');
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (sub, fields) => makeLogger(min, sink, `${component}/${sub}`, bound + (fields ? formatFields(fields) : '')),
  };
}

function formatFields(fields: LogFields): string {
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out += ` ${key}=${quote(value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value))}`;
  }
  return out;
}

function quote(text: string): string {
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}
