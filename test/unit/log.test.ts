import { describe, expect, it } from 'vitest';
import { ModbusFailure } from '../../drivers/modbus/link.js';
import { ConfigError } from '../../gateway/config/errors.js';
import { errorCode } from '../../gateway/util/error-code.js';
import { createLogger, type LogFormat } from '../../gateway/util/log.js';

function capture(format: LogFormat) {
  const lines: string[] = [];
  const log = createLogger({ format, level: 'debug', component: 'gw', sink: { write: (line) => lines.push(line) } });
  return { log, lines };
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('log lines', () => {
  it('json: one object per line with ts, level, component, msg and the fields', () => {
    const { log, lines } = capture('json');
    log.child('devices', { link: 'bus-1' }).warn('device offline', { device: 'pump-3', polls: 4 });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'warn', component: 'gw/devices', msg: 'device offline', link: 'bus-1', device: 'pump-3', polls: 4 });
    expect(new Date(record.ts as string).toISOString()).toBe(record.ts);
  });

  it('text: logfmt, with the code of the error', () => {
    const { log, lines } = capture('text');
    log.error('cannot fsync the buffer', { dir: '/var/lib/x', error: errnoError('ENOSPC', 'ENOSPC: no space left on device, write') });
    expect(lines[0]).toMatch(/^\S+ ERROR gw "cannot fsync the buffer" dir=\/var\/lib\/x error="ENOSPC: no space left on device, write" code=E_DISK_FULL\n$/);
  });

  it('an expected fault has a code and no stack; an unexpected error has its stack, on the same line', () => {
    const { log, lines } = capture('json');
    log.warn('device offline', { device: 'pump-3', error: new ModbusFailure('timeout', 'no answer (timed out)') });
    log.error('status listener failed', { device: 'pump-3', error: new TypeError("Cannot read properties of undefined (reading 'x')") });
    const [expected, unexpected] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(expected).toMatchObject({ error: 'no answer (timed out)', code: 'E_MODBUS_TIMEOUT' });
    expect(expected).not.toHaveProperty('stack');
    expect(unexpected).toMatchObject({ code: 'E_UNEXPECTED' });
    expect(unexpected!.stack).toMatch(/^TypeError: Cannot read properties[\s\S]*log\.test\.ts/);
    for (const line of lines) expect(line.slice(0, -1)).not.toContain('\n');
  });

  it('a code given by the call site wins; a reason without an errno gets none', () => {
    const { log, lines } = capture('json');
    log.warn('device offline', { device: 'x', error: 'no valid line for 30s', code: 'E_DEVICE_SILENT' });
    log.info('connection closed', { reason: 'disconnected' });
    log.warn('InfluxDB unreachable', { reason: 'connect ECONNREFUSED 127.0.0.1:8086' });
    expect(lines.map((line) => (JSON.parse(line) as { code?: string }).code)).toEqual(['E_DEVICE_SILENT', undefined, 'E_LINK_DOWN']);
  });

  it('json stays one parseable object whatever the fields hold', () => {
    const { log, lines } = capture('json');
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    log.info('odd fields', { level: 'not the level', msg: 'nor the message', big: 12n, cycle, gone: undefined });
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'info', msg: 'odd fields', field_level: 'not the level', field_msg: 'nor the message', big: '12', cycle: '[object Object]' });
    expect(record).not.toHaveProperty('gone');
  });

  it('below the level nothing is written', () => {
    const lines: string[] = [];
    createLogger({ level: 'warn', format: 'json', sink: { write: (line) => lines.push(line) } }).info('quiet');
    expect(lines).toEqual([]);
  });
});

describe('error codes', () => {
  it.each([
    [errnoError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:502'), 'E_LINK_DOWN'],
    [errnoError('EIO', 'EIO: i/o error, write'), 'E_LINK_DOWN'],
    [errnoError('ETIMEDOUT', 'timeout'), 'E_TIMEOUT'],
    [errnoError('EACCES', 'permission denied'), 'E_ACCESS'],
    [errnoError('EROFS', 'read-only file system'), 'E_ACCESS'],
    [errnoError('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:1883'), 'E_LISTEN'],
    [errnoError('EBUSY', 'resource busy'), 'E_SYSTEM'],
    [errnoError('EAUTH', 'Invalid login: 535'), 'E_AUTH'],
    [new ModbusFailure('exception', 'Modbus exception 2 (illegal data address)', 2), 'E_MODBUS_EXCEPTION'],
    [new ModbusFailure('malformed', 'malformed response: CRC error'), 'E_MODBUS_MALFORMED'],
    [new ModbusFailure('link', '127.0.0.1:502: connection refused'), 'E_LINK_DOWN'],
    [Object.assign(new Error('Modbus exception 4'), { modbusCode: 4 }), 'E_MODBUS_EXCEPTION'],
    [new ConfigError(['gateway.yaml: site: required']), 'E_CONFIG'],
    [new Error('Error: No such file or directory, cannot open /dev/ttyUSB7'), 'E_NOT_FOUND'],
    ['cannot open /dev/ttyUSB0: Permission denied', 'E_ACCESS'],
    ['ENOSPC: no space left on device, write', 'E_DISK_FULL'],
    ['unexpected EOF from the device', undefined],
    ['connection lost', undefined],
    [new RangeError('Invalid array length'), 'E_UNEXPECTED'],
    [42, undefined],
  ])('%s → %s', (error, code) => {
    expect(errorCode(error)).toBe(code);
  });
});
