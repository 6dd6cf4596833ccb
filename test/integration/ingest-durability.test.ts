/**
 * A QoS 1 ingest publish is acknowledged only once its readings are in the durable buffer: kill -9 the gateway the
 * moment mosquitto_pub has its PUBACK (during an InfluxDB outage), start both again, and the readings are in InfluxDB.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { freePort, waitFor } from '../peers/net.js';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';

describe('kill -9 after PUBACK', () => {
  let influx: InfluxDb1;
  let dir: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    influx = await startInfluxDb1();
    dir = mkdtempSync(join(tmpdir(), 'gw-ingest-kill-'));
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.cleanup();
    await influx?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every acknowledged reading to InfluxDB after the restart', { timeout: 120_000 }, async () => {
    const mqttPort = await freePort();
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
  users:
    - { username: gauge-4, role: device, password_hash: "${await hashPassword('gauge-pass', { ln: 10 })}" }
devices:
  - { name: gauge-4, driver: mqtt, domain: water, tags: { river: east } }
influx:
  url: ${influx.url}
  api: v1
  database: city
  create_database: true
  flush_interval: 50ms
  retry_initial: 50ms
  retry_max: 300ms
`,
    );
    await influx.stop(); // the uplink is down: the readings can only be in the buffer

    const first = await spawnGateway(config);
    gateways.push(first);
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

    influx = await startInfluxDb1({ port: influx.port, dataDir: influx.dataDir });
    gateways.push(await spawnGateway(config));
    const rows = await waitFor(
      async () => {
        const [series] = await influx.query('SELECT level, device, river, site FROM water', 'city');
        return series && series.values.length >= 20 ? series : undefined;
      },
      { what: '20 ingested readings in InfluxDB', timeoutMs: 60_000 },
    );
    expect(rows.values).toEqual([...Array(20).keys()].map((i) => [base + i * 1000, i / 10, 'gauge-4', 'east', 'lab']));
  });
});
