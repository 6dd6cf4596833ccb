/**
 * A counting subscriber in a process of its own (this file is its entry): it subscribes at QoS 0 over a raw socket and
 * counts the normalised readings of the load and of the probe, and/or notes when each firing of the tripping rule
 * arrived. Counting on a socket is what a real subscriber gets, not what the system under test thinks it sent.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ask, forkHelper, serve } from '../ipc.js';
import { stopChild } from '../../test/peers/process.js';
import { mqttConnect, PacketType, publishTopic, pubackPacket, subscribePacket, type Packet } from './mqtt-wire.js';
import { DOMAIN, PROBE_DOMAIN, TRIP_RULE, readingsFilters, tripKey, topics } from './workload.js';

export interface Counts {
  readonly readings: number;
  readonly probes: number;
  /** tripKey → epoch ms the firing event arrived. */
  readonly firings: [string, number][];
}

/** What a counter subscribes to: the readings (a dashboard, the city platform), the alert events (emergency staff), or both. */
export interface Interest {
  readonly readings: boolean;
  readonly alerts: boolean;
}

type Command = { type: 'connect'; port: number; interest: Interest } | { type: 'counts' } | { type: 'end' };

/** How often a counter of readings reads its socket: a few ms late for a count, and no wake-up per message. */
const COUNT_READ_EVERY_MS = 5;

const readingsHead = topics.withSuffix(`${DOMAIN}/`);
const probeHead = topics.withSuffix(`${PROBE_DOMAIN}/`);

function runCounter(): void {
  let socket: Socket | undefined;
  let subscribed: (() => void) | undefined;
  let readings = 0;
  let probes = 0;
  const firings: [string, number][] = [];
  const onPacket = (packet: Packet, from: Socket): void => {
    if (packet.type === PacketType.Suback) {
      if (packet.body.subarray(2).some((code) => code >= 0x80)) console.error('counter: a subscription was refused');
      subscribed?.();
      return;
    }
    if (packet.type !== PacketType.Publish) return;
    const { topic, payloadAt } = publishTopic(packet);
    // Granted QoS 0, so none should need an answer; a broker that sends QoS 1 anyway gets its PUBACK.
    if (packet.flags & 0x06) from.write(pubackPacket(packet.body.readUInt16BE(payloadAt - 2)));
    if (topic.startsWith(readingsHead)) readings++;
    else if (topic.startsWith(probeHead)) probes++;
    else if (topic === topics.alertEvents) {
      const event = JSON.parse(packet.body.toString('utf8', payloadAt)) as { kind?: string; rule?: string; device?: string; value?: unknown };
      if (event.kind === 'firing' && event.rule === TRIP_RULE) firings.push([tripKey(event.device ?? '', event.value), performance.timeOrigin + performance.now()]);
    }
  };

  serve<Command>(async (command) => {
    switch (command.type) {
      case 'connect': {
        const { readings: wantsReadings, alerts: wantsAlerts } = command.interest;
        // Emergency staff read each alert as it comes (its latency is measured); a counter of readings reads in batches.
        socket = await mqttConnect(command.port, `bench-counter-${process.pid}`, onPacket, { readEveryMs: wantsAlerts ? undefined : COUNT_READ_EVERY_MS });
        socket.on('error', (error) => console.error(`counter: ${error.message}`));
        const filters = [...(wantsReadings ? readingsFilters : []), ...(wantsAlerts ? [topics.alertEvents] : [])];
        const done = new Promise<void>((resolve) => (subscribed = resolve));
        socket.write(subscribePacket(1, filters));
        await done;
        return null;
      }
      case 'counts':
        return { readings, probes, firings } satisfies Counts;
      case 'end':
        socket?.end();
        return null;
    }
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) runCounter();

/** The counter process, as the bench drives it. */
export class Counter {
  private constructor(private readonly child: ChildProcess) {}

  /** The counter's process id (0 if it has none). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Connects and subscribes to what `interest` names; resolves on SUBACK. */
  static async start(port: number, interest: Interest): Promise<Counter> {
    const counter = new Counter(forkHelper(fileURLToPath(import.meta.url)));
    try {
      await ask(counter.child, { type: 'connect', port, interest } satisfies Command);
    } catch (error) {
      await counter.stop();
      throw error;
    }
    return counter;
  }

  counts(): Promise<Counts> {
    return ask(this.child, { type: 'counts' } satisfies Command);
  }

  async stop(): Promise<void> {
    await ask(this.child, { type: 'end' } satisfies Command).catch(() => undefined);
    await stopChild(this.child);
  }
}
