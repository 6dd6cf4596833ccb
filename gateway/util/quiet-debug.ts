/**
 * mqtt-packet and mqtt.js call `debug(...)` several times for every packet they parse or write. Switched off, each
 * call still allocates its arguments and asks a getter whether its namespace is on: about 5% of the gateway's CPU at
 * tens of thousands of messages a second (profiled). Loaded before them, this hands every namespace that is off when
 * the process starts a logger that does nothing; `DEBUG=mqtt-packet:*` and the like still log as before. Relies on
 * those libraries taking `require('debug')` from the one hoisted copy, which they create their loggers from at load.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

type Logger = ((...args: unknown[]) => void) & { readonly namespace: string; enabled: boolean; extend(name: string, delimiter?: string): Logger };
type CreateDebug = ((namespace: string) => Logger) & Record<string, unknown>;

const require = createRequire(import.meta.url);
const path = require.resolve('debug', { paths: [dirname(require.resolve('mqtt-packet'))] });
const createDebug = require(path) as CreateDebug;

function quietDebug(namespace: string): Logger {
  const logger = createDebug(namespace);
  if (logger.enabled) return logger;
  const silent = Object.assign(() => undefined, logger) as unknown as Logger;
  silent.enabled = false;
  silent.extend = (name, delimiter = ':') => quietDebug(namespace + delimiter + name);
  return silent;
}

const cached = require.cache[path];
if (cached) cached.exports = Object.assign(quietDebug, createDebug, { default: quietDebug, debug: quietDebug });
