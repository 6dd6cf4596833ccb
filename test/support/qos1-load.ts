import type { MqttClient } from 'mqtt';

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
