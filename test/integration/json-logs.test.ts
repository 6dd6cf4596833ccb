/**
 * `log.format: json` on the gateway process as an operator runs it: every line it writes is one JSON object with
 * ts, level, component and msg, and a device that cannot be reached is one line with its device and a stable code,
 * without a stack trace.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../peers/net.js';
import { simulatedFeederSections } from '../support/config-sections.js';
import { spawnGateway } from '../support/gateway-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

interface LogRecord {
  ts: string;
  level: string;
  component: string;
  msg: string;
  [field: string]: unknown;
}

describe('json logs from the gateway process', () => {
  it('writes only JSON lines; an unreachable device is one line with its device and E_LINK_DOWN, no stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-json-log-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
    // Nothing listens on deadPort: the device behind it is refused at every attempt.
    const [mqttPort, simPort, deadPort] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `site: district-7
log: { level: debug, format: json }
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: ${mqttPort} }]
${simulatedFeederSections(simPort, { pollMs: 200, seed: 3 })}  - { name: dead-meter, driver: modbus-tcp, host: 127.0.0.1, port: ${deadPort}, profile: sim-energy-meter, poll_interval: 200ms, timeout: 300ms }
`,
    );
    const gw = await spawnGateway(join(dir, 'gateway.yaml'));
    cleanups.unshift(() => gw.cleanup());
    await waitFor(() => (/"msg":"device offline".*"device":"dead-meter"/.test(gw.output()) && gw.output().includes('"device":"feeder-1"') ? true : undefined), {
      what: 'dead-meter offline and feeder-1 online in the log',
      timeoutMs: 20_000,
    });
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);

    const lines = gw.output().split('\n').filter((line) => line !== '');
    const records = lines.map((line) => {
      try {
        return JSON.parse(line) as LogRecord;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
    for (const record of records) {
      expect(typeof record.level).toBe('string');
      expect(typeof record.component).toBe('string');
      expect(typeof record.msg).toBe('string');
      expect(new Date(record.ts).toISOString()).toBe(record.ts);
      expect(record).not.toHaveProperty('stack');
    }
    const offline = records.find((r) => r.msg === 'device offline' && r.device === 'dead-meter');
    expect(offline).toMatchObject({ level: 'warn', code: 'E_LINK_DOWN' });
    expect(offline!.error).toMatch(/connection refused/);
    expect(records.some((r) => r.msg === 'signal received, shutting down' && r.signal === 'SIGTERM')).toBe(true);
    expect(records.at(-1)?.msg).toBe('gateway stopped');
  });
});
