import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord } from '../../gateway/bridge/record.js';

const roundTrip = (topic: string, payload: Buffer, retain: boolean) => decodeRecord(encodeRecord(topic, payload, retain));
const asBuffer = (payload: string | Buffer | undefined): Buffer | undefined => (payload === undefined ? undefined : Buffer.from(payload));

describe('bridge buffer records', () => {
  it('keeps gateway JSON readable on one line, with the retain flag', () => {
    const payload = '{"value":12.3,"unit":"m3/h","ts":1795405973402,"quality":"good"}';
    const line = encodeRecord('water/pump-1/flow', Buffer.from(payload), false);
    expect(line).toBe(`-t 17 water/pump-1/flow ${payload}`);
    expect(decodeRecord(line)).toEqual({ topic: 'water/pump-1/flow', payload, retain: false });
    expect(roundTrip('status/pump-1', Buffer.from('{"state":"online"}'), true)).toEqual({ topic: 'status/pump-1', payload: '{"state":"online"}', retain: true });
  });

  it('keeps an empty retained payload (it clears an alert upstream)', () => {
    const line = encodeRecord('alerts/high/pump-1/level', Buffer.alloc(0), true);
    expect(line.includes('\n')).toBe(false);
    expect(decodeRecord(line)).toEqual({ topic: 'alerts/high/pump-1/level', payload: '', retain: true });
  });

  it('carries topics with spaces and payloads with spaces and non-ASCII text as they are', () => {
    const decoded = roundTrip('command/pump 1/set point/result', Buffer.from('{"msg":"Übertemperatur 90 °C"}'), false);
    expect(decoded).toEqual({ topic: 'command/pump 1/set point/result', payload: '{"msg":"Übertemperatur 90 °C"}', retain: false });
  });

  it('falls back to base64 for a newline or bytes that are not UTF-8, and gives the exact bytes back', () => {
    for (const [topic, payload] of [
      ['events/alerts', Buffer.from('line one\nline two')],
      ['water/pump-1/raw', Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x80])],
      ['odd\ntopic/x/y', Buffer.from('{}')],
    ] as const) {
      const line = encodeRecord(topic, payload, false);
      expect(line.includes('\n')).toBe(false);
      expect(line.slice(0, 2)).toBe('-b');
      const decoded = decodeRecord(line);
      expect(decoded?.topic).toBe(topic);
      expect(asBuffer(decoded?.payload)).toEqual(payload);
    }
  });

  it('refuses lines that are not records instead of guessing', () => {
    for (const line of ['', 'xt 3 abc {}', 'Rq 3 abc {}', 'Rt abc {}', 'Rt 0  {}', 'Rt 10 abc {}', 'Rt 3 abcd{}', 'Rt 3']) {
      expect(decodeRecord(line), line).toBeUndefined();
    }
  });
});
