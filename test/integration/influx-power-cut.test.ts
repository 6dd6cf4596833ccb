/**
 * A power cut during an InfluxDB outage: the gateway process is killed with SIGKILL while readings wait in its
 * durable buffer. Started again (and InfluxDB with it), it delivers every reading it had accepted before the kill.
 * "Accepted" is observable from outside: the InfluxDB consumer appends a poll's readings to the buffer in the very
 * tick the driver emits them, so every reading an MQTT subscriber saw had already been appended.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { outageLab } from '../support/outage-lab.js';
import { influxV1Section, simulatedFeederSections } from '../support/config-sections.js';

describe('a kill -9 of the gateway during an InfluxDB outage', () => {
  const lab = outageLab('gw-power-cut-');

  it('delivers every reading accepted before the kill once the gateway and InfluxDB are back', async () => {
    const mqttPort = await freePort();
    const slavePort = await freePort();
    const config = join(lab.dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
profiles_dir: ${resolve('config', 'profiles')}
${simulatedFeederSections(slavePort, { pollMs: 50, seed: 3 })}${influxV1Section(lab.influx.url)}`,
    );
    await lab.influx.stop(); // the outage starts before the gateway does

    const first = await lab.spawn(config);
    const sub = mosquittoSub({ port: mqttPort, topic: 'city/lab/energy/#' });
    await sub.ready();
    await waitFor(() => (sub.messages.length >= 300 ? true : undefined), { what: '300 readings on MQTT', timeoutMs: 30_000 });
    await first.kill9();
    await sub.stop();
    const seen = sub.messages.map((m) => {
      const payload = JSON.parse(m.payload) as { value: number | boolean; ts: number };
      return { metric: m.topic.split('/').at(-1)!, ts: payload.ts, value: payload.value };
    });

    await lab.restartInflux();
    const second = await lab.spawn(config);
    expect(second.output()).toMatch(/buffer holds readings from an earlier run/);

    const lastTs = Math.max(...seen.map((r) => r.ts));
    const stored = await waitFor(async () => {
      const [series] = await lab.influx.query(`SELECT * FROM energy WHERE time <= ${lastTs}ms`, 'city');
      if (!series) return undefined;
      const columns = series.columns;
      const found = new Map<string, unknown>();
      for (const row of series.values) {
        columns.forEach((column, i) => {
          if (i > 0 && row[i] !== null && column !== 'device' && column !== 'site') found.set(`${column}@${String(row[0])}`, row[i]);
        });
      }
      return seen.every((r) => found.has(`${r.metric}@${r.ts}`)) ? found : undefined;
    }, { what: 'every reading seen before the kill, in InfluxDB', timeoutMs: 60_000 });
    for (const reading of seen) expect(stored.get(`${reading.metric}@${reading.ts}`), `${reading.metric} at ${reading.ts}`).toEqual(reading.value);
  });
});
