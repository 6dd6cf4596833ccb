/**
 * The bridge's sending side on its own: 200,000 readings published at QoS 1 with 100 in flight to a real Mosquitto,
 * through mqtt.js's `client.publish()` and through the bridge's FramePublisher, on the same kind of connection
 * (mqtt.js, writes coalesced per turn as in the bridge). Alternating runs; CPU is this process's (utime + stime).
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { FramePublisher, mqttJsMessageIds } from '../gateway/bridge/publish-frames.js';
import { WindowRefill } from '../gateway/bridge/window-refill.js';
import type { FrameMessage } from '../gateway/util/mqtt-frames.js';
import { coalesceWrites } from '../gateway/util/write-coalescing.js';
import { startMosquitto } from '../test/peers/mosquitto.js';
import { quietMosquitto } from './e2e/system.js';

const MESSAGES = 200_000;
const WINDOW = 100;
const ROUNDS = 3;

const batch: FrameMessage[] = Array.from({ length: 1000 }, (_, i) => ({
  topic: `city/bench/water/pump-${String(i % 100).padStart(3, '0')}/flow`,
  payload: `{"value":${(i * 0.37).toFixed(2)},"unit":"m3/h","ts":${1_795_405_973_402 + i},"quality":"good"}`,
  retain: false,
}));

/** Publishes MESSAGES with WINDOW unacknowledged at most, refilled as the bridge does (WindowRefill); CPU µs per message and messages/s. */
async function measure(port: number, frames: boolean, makeSender: (client: MqttClient) => (from: number, to: number, done: () => void) => void): Promise<{ cpuUs: number; perSecond: number }> {
  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clean: true, reconnectPeriod: 0, reschedulePings: false, ...(frames && { messageIdProvider: mqttJsMessageIds() }) });
  coalesceWrites(client.stream);
  const send = makeSender(client);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let acknowledged = 0;
    const pump = (): void => {
      const from = sent;
      sent = Math.min(MESSAGES, acknowledged + WINDOW);
      if (sent > from) send(from, sent, onAck);
    };
    const refill = new WindowRefill(WINDOW, pump);
    const onAck = (): void => {
      if (++acknowledged === MESSAGES) resolve();
      else refill.acknowledged(sent - acknowledged);
    };
    pump();
  });
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  await client.endAsync();
  return { cpuUs: (used.user + used.system) / MESSAGES, perSecond: MESSAGES / seconds };
}

const viaMqttJs = (client: MqttClient) => (from: number, to: number, done: () => void) => {
  for (let i = from; i < to; i++) {
    const message = batch[i % batch.length]!;
    client.publish(message.topic, message.payload, { qos: 1 }, done);
  }
};

const viaFrames = (client: MqttClient) => {
  const publisher = new FramePublisher(client);
  return (from: number, to: number, done: () => void) => {
    // The batch is 1000 long: a window never wraps more than once.
    const start = from % batch.length;
    const end = start + (to - from);
    if (end <= batch.length) publisher.publish(batch, start, end, 1, done);
    else {
      publisher.publish(batch, start, batch.length, 1, done);
      publisher.publish(batch, 0, end - batch.length, 1, done);
    }
  };
};

export async function bridgePublishReport(): Promise<string> {
  // Quiet: its per-packet log would be read by this process and counted as the senders' CPU.
  const mosquitto = await startMosquitto({ extraConfig: quietMosquitto() });
  try {
    const results: Record<string, { cpuUs: number; perSecond: number }[]> = { 'mqtt.js publish()': [], FramePublisher: [] };
    for (let round = 0; round < ROUNDS; round++) {
      results['mqtt.js publish()']!.push(await measure(mosquitto.port, false, viaMqttJs));
      results.FramePublisher!.push(await measure(mosquitto.port, true, viaFrames));
    }
    const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const rows = Object.entries(results).map(([name, runs]) => {
      const cpu = median(runs.map((r) => r.cpuUs));
      const rate = median(runs.map((r) => r.perSecond));
      return `  ${name.padEnd(18)} | ${cpu.toFixed(1).padStart(10)} | ${Math.round(rate).toLocaleString('en').padStart(10)}`;
    });
    return [
      `bridge sending side: ${MESSAGES.toLocaleString('en')} readings at QoS 1, ${WINDOW} in flight, to a local Mosquitto (median of ${ROUNDS}, alternating)`,
      `  ${'sender'.padEnd(18)} | CPU µs/msg | messages/s`,
      ...rows,
    ].join('\n');
  } finally {
    await mosquitto.stop();
  }
}
