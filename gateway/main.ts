#!/usr/bin/env node
/** Command line entry: `gateway [--config FILE]`. Loads the config, runs the gateway, stops cleanly on SIGINT/SIGTERM. */
// First: the MQTT libraries must find the quiet debug loggers when they load.
import './util/quiet-debug.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from './config-file/load.js';
import { ConfigError } from './config/errors.js';
import { Gateway } from './gateway.js';
import { installProcessGuard } from './process-guard.js';
import { createLogger } from './util/log.js';
import { projectRoot } from './util/project-root.js';

const defaultConfig = join(projectRoot(fileURLToPath(import.meta.url)), 'config', 'default.yaml');

/** The folder with package.json above this file: gateway/ under tsx, dist/gateway/ when built. */
async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nusage: gateway [--config FILE]\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`usage: gateway [--config FILE]   (default: ${defaultConfig})\n`);
    return 0;
  }

  let config;
  try {
    config = loadConfig(args.config ?? defaultConfig);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`gateway: the configuration has ${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}:\n${error.problems.map((p) => `  ${p}\n`).join('')}`);
    return 78; // EX_CONFIG: lets a supervisor tell "fix the file" from "crashed".
  }

  const log = createLogger({ level: config.log.level, format: config.log.format });
  const gateway = new Gateway(config, log);
  installProcessGuard({ log: log.child('process'), stop: () => gateway.stop() });
  try {
    await gateway.start();
  } catch (error) {
    log.error('gateway could not start', { error });
    return 1;
  }

  // SIGHUP reloads the config file, as daemons do (`systemctl reload`); an edit of the file does the same by itself.
  process.on('SIGHUP', () => {
    log.info('signal received, reloading the configuration', { signal: 'SIGHUP' });
    void gateway.reload();
  });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info('signal received, shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await gateway.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`gateway: fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
