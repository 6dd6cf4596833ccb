/**
 * The gateway-reading-out node checks a payload before it publishes (flows/node-red-contrib-city-gateway/lib/
 * contract.js, plain JS outside the TypeScript project). Its checks restate the gateway's ingest rules; here they are
 * held to them: on any JSON payload, the node lets through exactly the metrics the gateway would take, when the
 * gateway's configurable limits (string length, metric count, ts age) are out of the way.
 */
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseIngest, type IngestLimits } from '../../gateway/ingest/payload.js';

const require = createRequire(import.meta.url);
const { judgeIngest } = require('../../flows/node-red-contrib-city-gateway/lib/contract.js') as {
  judgeIngest(metrics: unknown): { accepted: Record<string, unknown>; problems: string[] };
};

const now = 1_795_405_973_402;
// Wide enough that no generated ts reaches them (and small enough that now ± limit stays exact in a double).
const generous: IngestLimits = { maxMetrics: 1000, maxStringLength: 1_000_000, maxFutureMs: 1e15, maxAgeMs: 1e15 };
const target = { device: 'derived-1', domain: 'water' };

const value = fc.oneof(fc.jsonValue(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string());
const metricValue = fc.oneof(
  value,
  fc.record(
    {
      value,
      unit: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue()),
      ts: fc.oneof(fc.integer({ min: 0, max: 2 * now }), fc.double({ min: -1e14, max: 1e14, noNaN: true }), fc.string(), fc.boolean(), fc.constant(null)),
      quality: fc.oneof(fc.constantFrom('good', 'uncertain', 'bad'), fc.string()),
      colour: fc.string(),
    },
    { requiredKeys: [] },
  ),
);
const name = fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/), fc.constantFrom('status', 'ingest', 'command', '__proto__', 'x'.repeat(129), 'a b', 'a/b'));

describe('gateway-reading-out checks against the gateway\'s ingest', () => {
  it('accepts exactly the metrics ingest accepts', () => {
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(name, metricValue, { maxKeys: 8 }), fc.jsonValue()), (doc) => {
        // What the node sees is what JSON carries (the node publishes JSON.stringify of it).
        const json = JSON.stringify(doc) ?? 'null';
        const gateway = parseIngest(Buffer.from(json), target, now, generous);
        const node = judgeIngest(JSON.parse(json));
        expect(Object.keys(node.accepted).sort()).toEqual(gateway.readings.map((reading) => reading.metric).sort());
        expect(node.problems.length).toBe(gateway.rejections.length);
      }),
      { numRuns: 2000 },
    );
  });
});
