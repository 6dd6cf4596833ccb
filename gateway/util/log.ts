/**
 * A small structured logger, one line per event, in one of two formats (`log.format` in the config):
 * - `text`: logfmt (`ts LEVEL component msg key=value`), readable on a console and by journald/Loki's logfmt parser;
 * - `json`: one JSON object per line (`ts`, `level`, `component`, `msg`, then the fields), for collectors.
 * An `error` (or `reason`) field gets a stable `code` (gateway/util/error-code.ts). Expected faults are logged without
 * a stack trace; an Error the gateway does not expect (E_UNEXPECTED) carries its stack, on the same line.
 */
import { errorCode } from './error-code.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
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

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  sink?: LogSink;
  component?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const render = opts.format === 'json' ? renderJson : renderText;
  return makeLogger({ min: rank[opts.level ?? 'info'], sink: opts.sink ?? process.stdout, render }, opts.component ?? 'gateway', {});
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

/** One event, its fields already serialised (errors as messages, with their code). */
interface LogEvent {
  readonly ts: string;
  readonly level: LogLevel;
  readonly component: string;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

interface Output {
  readonly min: number;
  readonly sink: LogSink;
  readonly render: (event: LogEvent) => string;
}

function makeLogger(out: Output, component: string, bound: LogFields): Logger {
  const log = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (rank[level] < out.min) return;
    const event = { ts: new Date().toISOString(), level, component, msg, fields: serialise(fields ? { ...bound, ...fields } : bound) };
    out.sink.write(out.render(event) + '\n');
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (sub, fields) => makeLogger(out, `${component}/${sub}`, fields ? { ...bound, ...fields } : bound),
  };
}

/** The fields as they are written: Errors become their message; the cause of the event gives the line its code. */
function serialise(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) out[key] = value instanceof Error ? value.message : value;
  }
  const cause = fields.error ?? fields.reason;
  if (cause === undefined || out.code !== undefined) return out;
  const code = errorCode(cause);
  if (code) out.code = code;
  if (code === 'E_UNEXPECTED' && cause instanceof Error && cause.stack) out.stack = cause.stack;
  return out;
}

function renderText(event: LogEvent): string {
  let line = `${event.ts} ${event.level.toUpperCase().padEnd(5)} ${event.component} ${quote(event.msg)}`;
  for (const [key, value] of Object.entries(event.fields)) line += ` ${key}=${quote(typeof value === 'string' ? value : stringify(value))}`;
  return line;
}

const envelope = new Set(['ts', 'level', 'component', 'msg']);

function renderJson(event: LogEvent): string {
  const record: Record<string, unknown> = { ts: event.ts, level: event.level, component: event.component, msg: event.msg };
  // A field may not overwrite the envelope a collector indexes on; it keeps its value under another key.
  for (const [key, value] of Object.entries(event.fields)) record[envelope.has(key) ? `field_${key}` : key] = value;
  try {
    return JSON.stringify(record, jsonValue);
  } catch {
    // A field JSON cannot hold (a cycle) is written as text; the line stays one parseable object.
    for (const [key, value] of Object.entries(record)) {
      if (!serialisable(value)) record[key] = String(value);
    }
    return JSON.stringify(record, jsonValue);
  }
}

function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value instanceof Error ? value.message : value;
}

function serialisable(value: unknown): boolean {
  try {
    JSON.stringify(value, jsonValue);
    return true;
  } catch {
    return false;
  }
}

/** A value as text that never throws: a log line must be written whatever a field holds (a bigint, a cycle). */
function stringify(value: unknown): string {
  try {
    return JSON.stringify(value, jsonValue) ?? String(value);
  } catch {
    return String(value);
  }
}

function quote(text: string): string {
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}
