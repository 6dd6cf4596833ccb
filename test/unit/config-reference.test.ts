/** docs/config-reference.md and docs/config.schema.json stay generated: they must be what `npm run docs:config` writes now. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { notifierKinds } from '../../gateway/alerts/notify/kinds.js';
import { configJsonSchema, renderReference } from '../../gateway/cli/config-reference.js';
import { SchemaComments } from '../../gateway/cli/schema-comments.js';
import { deviceKinds, sinkKinds } from '../../gateway/plugins.js';

const schema = configJsonSchema(SchemaComments.read(['gateway', 'drivers', 'tools']));
const reference = renderReference(schema);

describe('config reference', () => {
  it('is up to date (run `npm run docs:config` after changing a config schema)', () => {
    expect(readFileSync('docs/config-reference.md', 'utf8')).toBe(reference);
    expect(readFileSync('docs/config.schema.json', 'utf8')).toBe(`${JSON.stringify(schema, null, 2)}\n`);
  });

  it('covers every registered device kind, output and notifier', () => {
    for (const kind of deviceKinds) expect(reference).toContain(`## \`devices[]\` with \`driver: ${kind.driver}\``);
    for (const kind of sinkKinds) expect(reference).toContain(`## \`${kind.name}\`\n`);
    for (const kind of notifierKinds) expect(reference).toContain(`## \`notifiers.<name>\` with \`type: ${kind.type}\``);
  });

  it('shows defaults of durations and sizes in the units an operator writes', () => {
    expect(reference).toMatch(/^\| `limits\.max_throttle` \| duration \| {2}\| `10s` \|/m);
    expect(reference).toMatch(/^\| `buffer\.max_size` \| size \| {2}\| `512MB` \|/m);
  });

  it('describes keys with the comments written above them in the schemas', () => {
    expect(reference).toContain('| `max_queue` | size |  | `16MB` |  | Memory each consumer (MQTT, InfluxDB buffer, bridge, rules) may have waiting. Producers are held back from half of it on (backpressure); what is pushed past it regardless is dropped, oldest first, and counted. |');
  });
});
