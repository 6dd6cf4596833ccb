/**
 * The embedded broker delivers every message to a real client (Mosquitto's own), whatever the mix of QoS and retain:
 * a guard against aedes' dedupe dropping a retained or QoS 1 message overtaken by a QoS 0 one (moscajs/aedes#994).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

describe('embedded broker delivery', () => {
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    gw = await startGateway('site: lab\n');
    sub = mosquittoSub({ port: gw.mqttPort, topic: ['city/lab/#', 'city/lab/status/#'] });
    await sub.ready();
  });
  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
  });

  it('delivers retained QoS 1 messages published just before QoS 0 ones', async () => {
    const broker = gw.gateway.mqttBroker!;
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      void broker.publish(`city/lab/status/dev-${i}`, `status ${i}`, 1, true);
      void broker.publish(`city/lab/data/dev-${i}`, `reading ${i}`, 0, false);
      sent.push(`status ${i}`, `reading ${i}`);
    }
    await sub.next((m) => m.payload === 'status 49');
    await sub.next((m) => m.payload === 'reading 49');
    const received = new Set(sub.messages.map((m) => m.payload));
    expect(sent.filter((payload) => !received.has(payload))).toEqual([]);
  });
});
