/**
 * A part that cannot start does not take the gateway down: with the simulated district's port held by another
 * program, the broker, the devices' statuses and MQTT run, the simulator is reported and retried, and it starts by
 * itself once the port is free.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { mosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

describe('a part that fails to start', () => {
  let gw: RunningGateway | undefined;
  let blocker: Server | undefined;
  afterEach(async () => {
    await gw?.stop();
    await new Promise((resolve) => (blocker?.listening ? blocker.close(resolve) : resolve(undefined)));
  });

  it('is retried while the rest of the gateway runs, and starts once it can', { timeout: 150_000 }, async () => {
    const slavePort = await freePort();
    // It accepts the poller's connections and never answers; closing it drops them.
    const held = new Set<Socket>();
    blocker = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => blocker!.listen(slavePort, '127.0.0.1', resolve));
    gw = await startGateway(`site: lab
simulator:
  slaves: [{ model: energy-meter, port: ${slavePort}, profile: sim-energy-meter }]
devices:
  - { name: feeder-1, driver: modbus-tcp, host: 127.0.0.1, port: ${slavePort}, profile: sim-energy-meter, poll_interval: 200ms, timeout: 300ms, backoff_max: 500ms }
`);
    const health = gw.gateway.health();
    expect(health.state).toBe('degraded');
    expect(health.services.find((part) => part.name === 'simulator')).toMatchObject({ state: 'retrying', failedStarts: 1 });
    expect(health.services.filter((part) => part.state !== 'running').map((part) => part.name)).toEqual(['simulator']);
    // The broker serves meanwhile: a subscriber sees the device reported offline.
    const sub = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/#' });
    try {
      await sub.ready();
      await sub.next((m) => m.topic === 'city/lab/status/feeder-1' && m.payload.includes('offline'));

      const closed = new Promise((resolve) => blocker!.close(resolve));
      for (const socket of held) socket.destroy();
      await closed;
      // The retries back off up to a minute (with jitter): on a box that stalled through the lines above, the next
      // one may be that far away, however soon the port is free.
      await waitFor(() => (gw!.gateway.health().state === 'ok' ? true : undefined), { what: 'the simulator started by a retry', timeoutMs: 90_000 });
      await sub.next((m) => m.topic === 'city/lab/energy/feeder-1/frequency', 30_000);
      expect(gw.logs.some((line) => line.includes('part could not start; the others run, it is retried') && line.includes('part=simulator'))).toBe(true);
    } finally {
      await sub.stop();
    }
  });
});
