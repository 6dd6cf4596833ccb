import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MqttClient } from 'mqtt';
import { hashPassword } from '../../gateway/broker/password.js';
import type { InfluxDb1 } from '../peers/influxdb.js';
import { freePort, waitFor } from '../peers/net.js';
import { influxV1Section, simulatedFeederSections } from './config-sections.js';

/** A device sending readings at QoS 1 as fast as its window of unacknowledged publishes allows, counting what is acknowledged. */
export interface Qos1Load {
  /** Sequence numbers of the readings the gateway acknowledged (PUBACK). */
  readonly acknowledged: ReadonlySet<number>;
  stop(): void;
}

/**
 * Starts the load on `client`: readings `{"seq":{"value":n,"ts":..}}` spread over `devices` devices `load-0`… on
 * `city/lab/ingest/load/{device}`, each device's timestamps strictly increasing (InfluxDB keeps one point per time).
 * It carries on after a reconnect: mqtt.js keeps unacknowledged messages, and the window frees up as they settle.
 */
export function startQos1Load(client: MqttClient, opts: { window: number; devices: number }): Qos1Load {
  const acknowledged = new Set<number>();
  const lastTs = new Map<string, number>();
  let sequence = 0;
  let inFlight = 0;
  let running = true;
  const pump = (): void => {
    while (running && client.connected && inFlight < opts.window) {
      const n = sequence++;
      const device = `load-${n % opts.devices}`;
      const ts = Math.max(Date.now(), (lastTs.get(device) ?? 0) + 1);
      lastTs.set(device, ts);
      inFlight++;
      client.publish(`city/lab/ingest/load/${device}`, JSON.stringify({ seq: { value: n, ts } }), { qos: 1 }, (error) => {
        inFlight--;
        if (!error) acknowledged.add(n);
        setImmediate(pump);
      });
    }
  };
  client.on('connect', pump);
  const kick = setInterval(pump, 50);
  pump();
  return {
    acknowledged,
    stop() {
      running = false;
      clearInterval(kick);
      client.off('connect', pump);
    },
  };
}

/** The login the load connects with: a device speaking for `load-*`. */
export const LOADER = { username: 'loader', password: 'loader-pass' } as const;

/**
 * Writes `dir/gateway.yaml` for a load lab: an MQTT listener on a free port with the LOADER login and the publish
 * rate out of the way, a simulated feeder polled beside the load, and InfluxDB at `influxUrl`.
 */
export async function writeLoadLabConfig(dir: string, influxUrl: string, opts: { pollMs: number; seed: number; influx?: Readonly<Record<string, string>> }): Promise<{ file: string; mqttPort: number }> {
  const mqttPort = await freePort();
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `site: lab
data_dir: ${join(dir, 'data')}
profiles_dir: ${resolve('config', 'profiles')}
mqtt:
  listeners: [{ host: 127.0.0.1, port: ${mqttPort} }]
  users:
    - { username: ${LOADER.username}, role: device, devices: ["load-*"], password_hash: "${await hashPassword(LOADER.password, { ln: 10 })}" }
  limits: { publish_rate: 100000, publish_burst: 100000 }
${simulatedFeederSections(await freePort(), { pollMs: opts.pollMs, seed: opts.seed })}${influxV1Section(influxUrl, opts.influx)}`,
  );
  return { file, mqttPort };
}

/** Waits until every acknowledged reading is in InfluxDB; resolves with the sequence numbers found there. */
export function acknowledgedInInflux(influx: InfluxDb1, acknowledged: ReadonlySet<number>): Promise<Set<number>> {
  return waitFor(
    async () => {
      const [series] = await influx.query('SELECT seq FROM load', 'city');
      const values = new Set((series?.values ?? []).map((row) => Number(row[1])));
      return [...acknowledged].every((n) => values.has(n)) ? values : undefined;
    },
    { what: `all ${acknowledged.size} acknowledged readings in InfluxDB`, timeoutMs: 90_000 },
  );
}
