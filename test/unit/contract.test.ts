import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../gateway/alerts/alert.js';
import { isReservedLevel, reservedLevels, reservedProblem } from '../../gateway/contract/names.js';
import { ackResultPayload, alertEventPayload, alertStatePayload, clientErrorPayload, readingPayload, readingUnitField, statusPayload } from '../../gateway/contract/payloads.js';
import { Topics, type ContractTopic } from '../../gateway/contract/topics.js';
import type { Reading } from '../../gateway/model.js';

const topics = new Topics('city', 'd7');

describe('contract topics', () => {
  it('parses every topic it builds back into what it names', () => {
    const cases: [string, ContractTopic][] = [
      [topics.reading('water', 'pump-1', 'level'), { kind: 'reading', domain: 'water', device: 'pump-1', metric: 'level' }],
      [topics.status('pump-1'), { kind: 'status', device: 'pump-1' }],
      [topics.ingest('water', 'lora-1'), { kind: 'ingest', domain: 'water', device: 'lora-1' }],
      [topics.command('pump-1', 'setpoint'), { kind: 'command', device: 'pump-1', point: 'setpoint' }],
      [topics.commandResult('pump-1', 'setpoint'), { kind: 'command-result', device: 'pump-1', point: 'setpoint' }],
      [topics.alert('high', 'pump-1', 'level'), { kind: 'alert', rule: 'high', device: 'pump-1', metric: 'level' }],
      [`${topics.alert('high', 'pump-1', 'level')}/ack`, { kind: 'alert-ack', rule: 'high', device: 'pump-1', metric: 'level' }],
      [topics.alertAckResult('high', 'pump-1', 'level'), { kind: 'alert-ack-result', rule: 'high', device: 'pump-1', metric: 'level' }],
      [topics.alertEvents, { kind: 'alert-events' }],
      [topics.commandEvents, { kind: 'command-events' }],
      [topics.clientErrors('node/red#1'), { kind: 'client-errors', clientLevel: 'node%2Fred%231' }],
    ];
    for (const [topic, parsed] of cases) expect(topics.parse(topic), topic).toEqual(parsed);
    expect(topics.alertAckResult('high', 'pump-1', 'level')).toBe('city/d7/alerts/high/pump-1/level/ack/result');
    expect(topics.clientErrors('node/red#1')).toBe('city/d7/clients/node%2Fred%231/errors');
  });

  it('knows no other shape, and never takes a reserved first level for a domain', () => {
    const others = ['city/d7', 'city/d7/water/pump-1', 'city/d7/water/pump-1/level/x', 'city/d8/water/pump-1/level', 'town/d7/water/pump-1/level', 'city/d7/status/a/b', 'city/d7/events/other', 'city/d7/events/alerts/x', 'city/d7/events/commands/x', 'city/d7/clients/c/other', 'city/d7/command/a/b/other', 'city/d7/alerts/r/d/m/nak', 'city/d7/alerts/r/d/m/ack/other', 'city/d7/ingest/water'];
    for (const topic of others) expect(topics.parse(topic), topic).toBeUndefined();
    for (const level of reservedLevels) {
      expect(topics.parse(`city/d7/${level}/a/b`)?.kind, level).not.toBe('reading');
      expect(topics.isReading(`city/d7/${level}/a/b`), level).toBe(false);
    }
    expect(topics.isReading('city/d7/water/pump-1/level')).toBe(true);
  });

  it('gives the filters each class of topic is subscribed with', () => {
    expect([topics.readingsFilter, topics.statusFilter, topics.alertsFilter, topics.alertAckFilter, topics.commandFilter, topics.commandResultsFilter, topics.allUnder('events')]).toEqual([
      'city/d7/+/+/+',
      'city/d7/status/+',
      'city/d7/alerts/+/+/+',
      'city/d7/alerts/+/+/+/ack',
      'city/d7/command/+/+',
      'city/d7/command/+/+/result',
      'city/d7/events/#',
    ]);
  });

  it('works under a root given whole (the bridge\'s remote_prefix)', () => {
    const remote = new Topics('cities/north/d7');
    expect(remote.command('pump-1', 'setpoint')).toBe('cities/north/d7/command/pump-1/setpoint');
    expect(remote.parse('cities/north/d7/command/pump-1/setpoint')).toEqual({ kind: 'command', device: 'pump-1', point: 'setpoint' });
    expect(remote.suffixOf('cities/north/d7/water/pump-1/level')).toBe('water/pump-1/level');
    expect(remote.withSuffix('water/pump-1/level')).toBe('cities/north/d7/water/pump-1/level');
  });

  it('reads an ingest topic\'s domain and device, or says why they cannot be used', () => {
    expect(topics.ingestOf('city/d7/water/pump-1/level')).toBeUndefined();
    expect(topics.ingestOf('city/d7/ingest/water/lora-1')).toEqual({ domain: 'water', device: 'lora-1', problem: undefined });
    expect(topics.ingestOf('city/d7/ingest/water')?.problem).toBe('ingest topics are city/d7/ingest/{domain}/{device}');
    expect(topics.ingestOf('city/d7/ingest/water/a/b')?.problem).toMatch(/each a name of letters, digits/);
    expect(topics.ingestOf('city/d7/ingest/wa ter/a')?.problem).toMatch(/each a name of letters, digits/);
    expect(topics.ingestOf('city/d7/ingest/command/lora-1')?.problem).toBe(`domain ${reservedProblem('command')}`);
    expect(topics.ingestOf('city/d7/ingest/water/status')?.problem).toBe(`device ${reservedProblem('status')}`);
  });

  it('names every reserved level in the reason', () => {
    expect(reservedProblem('events')).toBe(`"events" is reserved for the gateway's own topics (no domain, device or metric may be status, alerts, events, clients, ingest or command); choose another name`);
    expect(reservedLevels.every(isReservedLevel)).toBe(true);
    expect(isReservedLevel('water')).toBe(false);
  });
});

describe('contract payloads, byte for byte', () => {
  const reading = (value: Reading['value'], unit?: string): Reading => ({ device: 'pump-1', domain: 'water', metric: 'level', value, ts: 1795405973402, quality: 'good', ...(unit === undefined ? {} : { unit }) });

  it('readings: value, unit when there is one, ts, quality; NaN and ±Infinity as null', () => {
    const encode = (r: Reading) => readingPayload(r, readingUnitField(r.unit));
    expect(encode(reading(3.02, 'm'))).toBe('{"value":3.02,"unit":"m","ts":1795405973402,"quality":"good"}');
    expect(encode(reading(true))).toBe('{"value":true,"ts":1795405973402,"quality":"good"}');
    expect(encode(reading('ok "1"', 'm3/h'))).toBe('{"value":"ok \\"1\\"","unit":"m3/h","ts":1795405973402,"quality":"good"}');
    expect(encode({ ...reading(Number.NaN), quality: 'bad' })).toBe('{"value":null,"ts":1795405973402,"quality":"bad"}');
    expect(encode(reading(-Infinity))).toBe('{"value":null,"ts":1795405973402,"quality":"good"}');
    for (const value of [0, -1.5, 1e21, 'x', false]) expect(JSON.parse(encode(reading(value, 'kW')))).toEqual({ value, unit: 'kW', ts: 1795405973402, quality: 'good' });
  });

  it('readings and alerts: a 64-bit integer as a bare JSON number with every digit', () => {
    expect(readingPayload(reading(-9007199254740993n), '')).toBe('{"value":-9007199254740993,"ts":1795405973402,"quality":"good"}');
    expect(readingPayload(reading(18446744073709551000n), '')).toBe('{"value":18446744073709551000,"ts":1795405973402,"quality":"good"}');
    const event: AlertEvent = { id: 'low/m/e', site: 'd7', rule: 'low', device: 'm', metric: 'e', domain: undefined, kind: 'firing', severity: 'warning', message: 'x', value: -9007199254740993n, unit: undefined, since: 1, ts: 2, acknowledged: undefined };
    expect(alertEventPayload(event)).toContain('"value":-9007199254740993,');
    expect(alertStatePayload({ rule: 'low', device: 'm', metric: 'e', unit: undefined, since: 1, acknowledged: undefined }, event, 'firing')).toContain('"value":-9007199254740993,');
  });

  it('device status, with the error only when there is one', () => {
    expect(statusPayload({ device: 'pump-1', state: 'online', ts: 5 })).toBe('{"state":"online","ts":5}');
    expect(statusPayload({ device: 'pump-1', state: 'offline', ts: 5, error: 'connection lost' })).toBe('{"state":"offline","ts":5,"error":"connection lost"}');
  });

  it('alert state, events, acknowledgement results and client errors', () => {
    const alert = { rule: 'high', device: 'pump-1', metric: 'level', unit: 'm', since: 100, acknowledged: undefined };
    const event: AlertEvent = { id: 'high/pump-1/level', site: 'd7', rule: 'high', device: 'pump-1', metric: 'level', domain: undefined, kind: 'firing', severity: 'critical', message: 'too high', value: 4.8, unit: 'm', since: 100, ts: 120, acknowledged: undefined };
    expect(alertStatePayload(alert, event, 'firing')).toBe('{"state":"firing","severity":"critical","rule":"high","device":"pump-1","metric":"level","value":4.8,"unit":"m","message":"too high","since":100,"ts":120,"acknowledged":null}');
    expect(alertStatePayload({ ...alert, unit: undefined, acknowledged: { by: 'desk', at: 110 } }, { ...event, value: undefined }, 'resolved')).toBe(
      '{"state":"resolved","severity":"critical","rule":"high","device":"pump-1","metric":"level","value":null,"unit":null,"message":"too high","since":100,"ts":120,"acknowledged":{"by":"desk","at":110}}',
    );
    expect(alertEventPayload(event)).toBe('{"id":"high/pump-1/level","site":"d7","rule":"high","device":"pump-1","metric":"level","kind":"firing","severity":"critical","message":"too high","value":4.8,"unit":"m","since":100,"ts":120}');
    expect(ackResultPayload('high/pump-1/level', 'desk', true)).toBe('{"ok":true,"by":"desk"}');
    expect(ackResultPayload('high/pump-1/level', 'desk', false)).toBe('{"ok":false,"error":"no active alert high/pump-1/level"}');
    expect(clientErrorPayload('city/d7/ingest/water/x', ['bad', 'worse'], 7)).toBe('{"ts":7,"topic":"city/d7/ingest/water/x","errors":["bad","worse"]}');
  });
});
