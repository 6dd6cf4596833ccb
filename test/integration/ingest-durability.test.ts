/**
 * A QoS 1 ingest publish is acknowledged only once its readings are in the durable buffer: kill -9 the gateway the
 * moment mosquitto_pub has its PUBACK (during an InfluxDB outage), start both again, and the readings are in InfluxDB.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { freePort, waitFor } from '../peers/net.js';
import { outageLab } from '../support/outage-lab.js';
import { influxV1Section } from '../support/config-sections.js';

describe('kill -9 after PUBACK', () => {
  const lab = outageLab('gw-ingest-kill-');

  it('delivers every acknowledged reading to InfluxDB after the restart', { timeout: 120_000 }, async () => {
    const mqttPort = await freePort();
    const config = join(lab.dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
  users:
    - { username: gauge-4, role: device, password_hash: "${await hashPassword('gauge-pass', { ln: 10 })}" }
devices:
  - { name: gauge-4, driver: mqtt, domain: water, tags: { river: east } }
${influxV1Section(lab.influx.url)}`,
    );
    await lab.influx.stop(); // the uplink is down: the readings can only be in the buffer

    const first = await lab.spawn(config);
    const base = Date.now() - 60_000;
    for (let i = 0; i < 20; i++) {
      const result = await mosquittoPub({
        port: mqttPort,
        username: 'gauge-4',
        password: 'gauge-pass',
        qos: 1,
        topic: 'city/lab/ingest/water/gauge-4',
        message: JSON.stringify({ level: { value: i / 10, unit: 'm', ts: base + i * 1000 } }),
      });
      expect(result.code, result.output).toBe(0); // PUBACK received
    }
    await first.kill9();

    await lab.restartInflux();
    await lab.spawn(config);
    const rows = await waitFor(
      async () => {
        const [series] = await lab.influx.query('SELECT level, device, river, site FROM water', 'city');
        return series && series.values.length >= 20 ? series : undefined;
      },
      { what: '20 ingested readings in InfluxDB', timeoutMs: 60_000 },
    );
    expect(rows.values).toEqual([...Array(20).keys()].map((i) => [base + i * 1000, i / 10, 'gauge-4', 'east', 'lab']));
  });
});
