/**
 * 64-bit integers beyond 2^53, end to end (issue 15): a pymodbus slave holds -9007199254740993 (int64),
 * 9007199254740993 and 18446744073709551000 (uint64). The gateway used to publish them as the nearest doubles
 * (-9007199254740992, 9007199254740992, 18446744073709552000), write them to InfluxDB as floats, and judge rules on
 * the rounded value. Now: exact digits on MQTT (as Mosquitto's own client receives them), exact integer fields in
 * InfluxDB 1.6.7 (read back as text: JSON.parse would round them again), rules firing one past the limit, and the
 * HTTP API answering with the digits instead of failing on a BigInt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { waitFor } from '../peers/net.js';
import { influxV1Section } from '../support/config-sections.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { httpCall } from '../support/http-client.js';
import { influxHealth } from '../support/health.js';
import { wordsOf } from '../support/reference-encoding.js';

const NEGATIVE = -9007199254740993n;
const POSITIVE = 9007199254740993n;
/** Beyond the int64 range: exact on MQTT, but no InfluxDB integer field holds it. */
const HUGE = 18446744073709551000n;
const READINGS = 'city/lab/energy/meter-1/+';

function config(slavePort: number, influxUrl: string): string {
  return `site: lab
http:
  listen: { host: 127.0.0.1, port: 0 }
  allow_anonymous: true
devices:
  - name: meter-1
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${slavePort}
    domain: energy
    poll_interval: 200ms
    timeout: 2s
    points:
      - { name: balance, address: 0, type: int64 }
      - { name: pulses, address: 4, type: uint64, order: DCBA }
      - { name: huge, address: 8, type: uint64 }
rules:
  # Both limits are doubles; the values lie one past them, where no double tells them apart.
  - { name: balance-low, match: { metric: balance }, below: -9007199254740992, severity: warning }
  - { name: pulses-high, match: { metric: pulses }, above: 9007199254740992, severity: warning }
${influxV1Section(influxUrl)}`;
}

/** The digits of a payload's "value", as published (a JSON parser would round them). */
function valueDigits(payload: string): string | undefined {
  return /"value":(-?\d+)[,}]/.exec(payload)?.[1];
}

describe('64-bit integers beyond 2^53, end to end', () => {
  let slave: ModbusSlave;
  let influx: InfluxDb1;
  let gw: RunningGateway;
  let sub: MosquittoSub;

  beforeAll(async () => {
    influx = await startInfluxDb1();
    const holding = { '0': wordsOf('int64', NEGATIVE, 'ABCD'), '4': wordsOf('uint64', POSITIVE, 'DCBA'), '8': wordsOf('uint64', HUGE, 'ABCD') };
    slave = await startModbusSlave({ spec: { units: { '1': { holding } } } });
    gw = await startGateway(config(slave.port, influx.url));
    sub = mosquittoSub({ port: gw.mqttPort, topic: [READINGS, 'city/lab/alerts/+/meter-1/+'] });
    await sub.ready();
  }, 60_000);
  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
    await slave?.stop();
    await influx?.remove();
  });

  it('publishes every digit on MQTT, as a bare JSON number', async () => {
    for (const [metric, value] of [['balance', NEGATIVE], ['pulses', POSITIVE], ['huge', HUGE]] as const) {
      const message = await sub.next((m) => m.topic === `city/lab/energy/meter-1/${metric}`);
      expect({ metric, value: valueDigits(message.payload) }).toEqual({ metric, value: String(value) });
      expect(message.payload).toMatch(/^\{"value":-?\d+,"ts":\d+,"quality":"good"\}$/);
    }
  });

  it('fires rules one past a limit no double can tell apart, with the exact value in the alert', async () => {
    const low = await sub.next((m) => m.topic === 'city/lab/alerts/balance-low/meter-1/balance' && m.payload.includes('"firing"'));
    expect(valueDigits(low.payload)).toBe(String(NEGATIVE));
    expect(JSON.parse(low.payload)).toMatchObject({ message: `meter-1 balance = ${NEGATIVE} (< -9007199254740992)` });
    const high = await sub.next((m) => m.topic === 'city/lab/alerts/pulses-high/meter-1/pulses' && m.payload.includes('"firing"'));
    expect(valueDigits(high.payload)).toBe(String(POSITIVE));
  });

  it('writes exact integer fields to InfluxDB, and counts the uint64 no integer field holds', async () => {
    const body = await waitFor(async () => {
      const answer = await fetch(`${influx.url}/query?db=city&epoch=ms&q=${encodeURIComponent('SELECT balance, pulses FROM energy LIMIT 1')}`);
      const text = await answer.text();
      return text.includes('"values"') ? text : undefined;
    }, { what: 'the 64-bit points in InfluxDB', timeoutMs: 30_000 });
    expect(body).toMatch(new RegExp(`\\[\\d+,${NEGATIVE},${POSITIVE}\\]`));
    const [fields] = await influx.query('SHOW FIELD KEYS FROM energy', 'city');
    expect(fields!.values).toEqual([['balance', 'integer'], ['pulses', 'integer']]);
    await waitFor(() => ((influxHealth(gw.gateway)?.beyondInt64 ?? 0) > 0 ? true : undefined), { what: 'the huge value refused and counted' });
    expect(gw.logs.some((line) => line.includes('value above the int64 range not written') && line.includes(String(HUGE)))).toBe(true);
  });

  it('answers the HTTP API with the digits instead of failing on a BigInt', async () => {
    const answer = await httpCall(`${gw.gateway.httpAddress!.url}/api/readings/latest?device=meter-1`);
    expect(answer.status).toBe(200);
    for (const value of [NEGATIVE, POSITIVE, HUGE]) expect(answer.body).toContain(`"value":${value},`);
    const alerts = await httpCall(`${gw.gateway.httpAddress!.url}/api/alerts`);
    expect(alerts.status).toBe(200);
    expect(alerts.body).toContain(`"value":${NEGATIVE},`);
  });
});
