/**
 * InfluxDB frozen (SIGSTOP: connections open, no answer), then thawed, then down (stopped), then back. The gateway
 * runs as its own process and polls a Modbus device throughout; it must stay alive, keep the device on schedule,
 * recover by itself each time, and lose nothing it accepted. "Accepted" is observable from outside: the InfluxDB
 * consumer appends a poll's readings to the buffer in the very tick the driver emits them, so every reading an MQTT
 * subscriber saw had already been appended (see test/integration/influx-power-cut.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { outageLab } from '../support/outage-lab.js';
import { influxV1Section, simulatedFeederSections } from '../support/config-sections.js';

const POLL_MS = 100;

describe('InfluxDB frozen, down and back', () => {
  const lab = outageLab('gw-influx-outage-');

  it('keeps polling on schedule, recovers by itself each time and loses nothing accepted', { timeout: 180_000 }, async () => {
    const mqttPort = await freePort();
    const slavePort = await freePort();
    const config = join(lab.dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
data_dir: ${join(lab.dir, 'data')}
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
profiles_dir: ${resolve('config', 'profiles')}
${simulatedFeederSections(slavePort, { pollMs: POLL_MS, seed: 5 })}${influxV1Section(lab.influx.url, { timeout: '1s', retry_max: '500ms' })}`,
    );
    const gateway = await lab.spawn(config);
    const sub = mosquittoSub({ port: mqttPort, topic: 'city/lab/energy/feeder-1/+' });
    await sub.ready();
    const polls = (): number[] => [...new Set(sub.messages.map((m) => (JSON.parse(m.payload) as { ts: number }).ts))].sort((a, b) => a - b);
    const pollsAfter = async (count: number): Promise<void> => {
      const target = polls().length + count;
      await waitFor(() => (polls().length >= target ? true : undefined), { what: `${count} more polls`, timeoutMs: 30_000 });
    };
    await pollsAfter(10);

    // Frozen: requests hang until the client's timeout; polling goes on.
    process.kill(lab.influx.pid, 'SIGSTOP');
    try {
      await waitFor(() => (/InfluxDB unreachable.*reason=.*(timed out|timeout)/i.test(gateway.output()) ? true : undefined), { what: 'the frozen server noticed', timeoutMs: 30_000 });
      await pollsAfter(30);
    } finally {
      process.kill(lab.influx.pid, 'SIGCONT');
    }
    await waitFor(() => (gateway.output().includes('InfluxDB accepts writes again') ? true : undefined), { what: 'recovery after the thaw', timeoutMs: 30_000 });

    // Down, then back on the same port and data.
    const recoveries = (): number => gateway.output().split('InfluxDB accepts writes again').length - 1;
    const before = recoveries();
    await lab.influx.stop();
    await pollsAfter(30);
    await lab.restartInflux();
    await waitFor(() => (recoveries() > before ? true : undefined), { what: 'recovery after the restart', timeoutMs: 30_000 });
    await pollsAfter(10);
    await sub.stop();

    expect(gateway.child.exitCode).toBeNull();
    const times = polls();
    // On schedule throughout: no gap between polls of more than a few poll intervals (a loaded 2-core machine).
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBeLessThan(POLL_MS * 10);

    const seen = sub.messages.map((m) => ({ metric: m.topic.split('/').at(-1)!, ts: (JSON.parse(m.payload) as { ts: number }).ts }));
    const lastTs = times.at(-1)!;
    await waitFor(
      async () => {
        const [series] = await lab.influx.query(`SELECT * FROM energy WHERE time <= ${lastTs}ms`, 'city');
        if (!series) return undefined;
        const found = new Set<string>();
        for (const row of series.values) series.columns.forEach((column, i) => i > 0 && row[i] !== null && found.add(`${column}@${String(row[0])}`));
        return seen.every((r) => found.has(`${r.metric}@${r.ts}`)) ? true : undefined;
      },
      { what: 'every reading seen on MQTT in InfluxDB', timeoutMs: 60_000 },
    );
    expect(gateway.output()).not.toMatch(/forwarder stopped|unexpected error/);
  });
});
