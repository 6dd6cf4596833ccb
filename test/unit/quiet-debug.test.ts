import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Loads quiet-debug first, as main.ts does, in a process of its own (it replaces a module for the whole process). */
function logThroughMqttPacketsDebug(debugEnv: string | undefined): { enabled: string; stderr: string } {
  const script = `
    await import('./gateway/util/quiet-debug.ts');
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const { dirname } = await import('node:path');
    const debug = require(require.resolve('debug', { paths: [dirname(require.resolve('mqtt-packet'))] }));
    const logger = debug('mqtt-packet:parser');
    logger('parsed %s', 'a packet');
    logger.extend('child')('from a child logger');
    // The real logger would start logging now; the quiet one stays what it was made: a function that does nothing.
    if (!logger.enabled) { debug.enable('mqtt-packet:*'); logger('switched on later'); }
    process.stdout.write(String(logger.enabled));`;
  const env = { ...process.env };
  delete env.DEBUG;
  if (debugEnv !== undefined) env.DEBUG = debugEnv;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return { enabled: run.stdout, stderr: run.stderr };
}

describe('quiet debug loggers', () => {
  it('hands the MQTT libraries a logger that does nothing where DEBUG leaves their namespace off at start', () => {
    expect(logThroughMqttPacketsDebug(undefined)).toEqual({ enabled: 'false', stderr: '' });
    expect(logThroughMqttPacketsDebug('modbus-serial')).toEqual({ enabled: 'false', stderr: '' });
  });

  it('keeps logging what DEBUG switches on', () => {
    const { enabled, stderr } = logThroughMqttPacketsDebug('mqtt-packet:*');
    expect(enabled).toBe('true');
    expect(stderr).toContain('parsed a packet');
    expect(stderr).toContain('from a child logger');
  });
});
