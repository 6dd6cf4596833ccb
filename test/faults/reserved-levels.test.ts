/**
 * The first topic levels the gateway owns (status, alerts, events, clients, ingest, command) are no domain, device or
 * metric. A device allowed to ingest for itself must not get the gateway to publish under one of them: an ingest on
 * `ingest/command/{device}` would otherwise come back as `command/{device}/{metric}` — a command topic the device may
 * not publish itself (an ACL bypass once commands act). Real clients: Mosquitto's own mosquitto_pub and mosquitto_sub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservedLevels } from '../../gateway/contract/names.js';
import { hashPassword } from '../../gateway/broker/password.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const T = 60_000;
const passwords = { ops: 'ops-pass', 'pump-7': 'pump-pass', lora: 'lora-pass' } as const;
type User = keyof typeof passwords;

describe('reserved first levels at ingest', () => {
  let gw: RunningGateway;
  let watch: MosquittoSub;
  const as = (user: User) => ({ port: gw.mqttPort, username: user, password: passwords[user], clientId: user, qos: 1 as const });
  /** What the client was told on its error topic, one `{topic}: {reason}` per reason. */
  const toldTo = (clientId: string): string[] =>
    watch.messages
      .filter((m) => m.topic === `city/lab/clients/${clientId}/errors`)
      .flatMap((m) => {
        const { topic, errors } = JSON.parse(m.payload) as { topic: string; errors: string[] };
        return errors.map((reason) => `${topic}: ${reason}`);
      });

  beforeAll(async () => {
    const hash = (user: User) => hashPassword(passwords[user], { ln: 10 });
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ type: tcp, host: 127.0.0.1, port: 0 }]
  users:
    - { username: ops, role: operator, password_hash: "${await hash('ops')}" }
    - { username: pump-7, role: device, password_hash: "${await hash('pump-7')}" }
    - { username: lora, role: device, devices: ["*"], password_hash: "${await hash('lora')}" }
`);
    watch = mosquittoSub({ port: gw.mqttPort, topic: 'city/lab/#', qos: 1, username: 'ops', password: passwords.ops });
    await watch.ready();
  }, T);

  afterAll(async () => {
    await watch?.stop();
    await gw?.stop();
  });

  it('refuses a reserved domain with a reason, and publishes nothing on the command topic (or any reserved one)', { timeout: T }, async () => {
    const rejectedBefore = gw.gateway.health().ingest!.payloadsRejected;
    for (const domain of reservedLevels) {
      const result = await mosquittoPub({ ...as('pump-7'), topic: `city/lab/ingest/${domain}/pump-7`, message: '{"open": 1}' });
      expect(result.code, result.output).toBe(0);
    }
    // A valid ingest after them: once its reading is republished, anything the refused ones caused is out too.
    expect((await mosquittoPub({ ...as('pump-7'), topic: 'city/lab/ingest/water/pump-7', message: '{"level": 1.5}' })).code).toBe(0);
    await watch.next((m) => m.topic === 'city/lab/water/pump-7/level');

    const forged = new Set<string>(reservedLevels.map((domain) => `city/lab/${domain}/pump-7/open`));
    expect(watch.messages.filter((m) => forged.has(m.topic)).map((m) => `${m.topic} ${m.payload}`)).toEqual([]);
    expect(gw.gateway.health().ingest!.payloadsRejected).toBe(rejectedBefore + reservedLevels.length);
    const told = toldTo('pump-7');
    for (const domain of reservedLevels) expect(told).toContainEqual(expect.stringContaining(`city/lab/ingest/${domain}/pump-7: domain "${domain}" is reserved`));
  });

  it('refuses a reserved device name and a reserved metric, keeping the payload\'s other metrics', { timeout: T }, async () => {
    expect((await mosquittoPub({ ...as('lora'), topic: 'city/lab/ingest/water/command', message: '{"level": 2}' })).code).toBe(0);
    expect((await mosquittoPub({ ...as('lora'), topic: 'city/lab/ingest/water/lora-n-1', message: '{"status": 1, "level": 2.5}' })).code).toBe(0);
    await watch.next((m) => m.topic === 'city/lab/water/lora-n-1/level');

    const refused = new Set(['city/lab/water/command/level', 'city/lab/water/lora-n-1/status']);
    expect(watch.messages.filter((m) => refused.has(m.topic)).map((m) => `${m.topic} ${m.payload}`)).toEqual([]);
    const told = toldTo('lora');
    expect(told).toContainEqual(expect.stringContaining('city/lab/ingest/water/command: device "command" is reserved'));
    expect(told).toContainEqual(expect.stringContaining('city/lab/ingest/water/lora-n-1: "status": metric "status" is reserved'));
  });
});
