/**
 * The config loader on arbitrary input: it returns a config or throws ConfigError naming the file, never anything
 * else (main.ts would exit 1 with a stack instead of 78 with the problems). fast-check prints the seed of a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../gateway/config/errors.js';
import { loadConfig } from '../../gateway/config-file/load.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-config-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'gateway.yaml');

/** Loads `text` as the config file; fails the property on anything but a config or a ConfigError naming the file. */
function loadsOrRefuses(text: string, env: NodeJS.ProcessEnv = {}): void {
  writeFileSync(file, text);
  try {
    loadConfig(file, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const line of error.problems) expect(line.startsWith(`${file}: `), line).toBe(true);
  }
}

/** Values of every YAML kind, with the numbers that trip schemas: huge, fractional, negative, infinite. */
const scalar = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e23, -1e23, 1.5, 0, 65536, Number.MAX_SAFE_INTEGER + 2, '5s', '1 sec', '512MB', '0x1F', '${UNSET_VAR}', '${SET_VAR:-7}', '__proto__'),
);
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, scalar, tie('list'), tie('map')),
  list: fc.array(tie('any'), { maxLength: 4 }),
  map: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('type', 'driver', 'name', 'port', 'host', '__proto__', 'constructor')), tie('any'), { maxKeys: 4 }),
})).any;

const device = fc.record(
  {
    driver: fc.oneof(fc.constantFrom('modbus-tcp', 'modbus-rtu', 'serial-line', 'mqtt'), value),
    name: fc.oneof(fc.constantFrom('pump-1', 'pump 1'), value),
    host: fc.oneof(fc.constant('127.0.0.1'), value),
    port: value,
    bus: value,
    unit_id: value,
    domain: fc.oneof(fc.constant('water'), value),
    poll_interval: value,
    profile: value,
    tags: value,
    points: fc.oneof(fc.constant([{ name: 'level', address: 0 }]), fc.array(fc.dictionary(fc.constantFrom('name', 'address', 'type', 'order', 'bit', 'length', 'table', 'scale'), value), { maxLength: 3 }), value),
    parser: value,
    framing: value,
    stale_after: value,
  },
  { requiredKeys: ['driver'] },
);

/** Documents that keep the top-level shape, with arbitrary values at the known keys. */
const config = fc.record(
  {
    site: fc.oneof(fc.constant('district-7'), value),
    mqtt: fc.oneof(value, fc.record({ listeners: fc.oneof(value, fc.array(fc.record({ type: value, host: value, port: value }, { requiredKeys: [] }), { maxLength: 3 })), limits: value, users: value, ingest: value }, { requiredKeys: [] })),
    influx: value,
    bridge: value,
    buses: value,
    devices: fc.oneof(value, fc.array(device, { maxLength: 3 })),
    rules: value,
    rule_files: value,
    notifiers: value,
    simulator: value,
    profiles_dir: fc.oneof(fc.constant('../../no/such/dir'), value),
    data_dir: value,
    pipeline: value,
    log: value,
  },
  { requiredKeys: ['site'] },
);

describe('loadConfig on arbitrary input', () => {
  it('arbitrary text: a config or a ConfigError, nothing else', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('*a', '&a [*a]', 'a: &a\n  b: *a', '? [a]\n: 1', '!!binary x', 'site: !!js/function x', '%YAML 9.9\n---\nsite: s')), (text) => loadsOrRefuses(text)), { numRuns: 300 });
  });

  it('arbitrary YAML documents: a config or a ConfigError, nothing else', () => {
    fc.assert(fc.property(value, (doc) => loadsOrRefuses(stringify(doc))), { numRuns: 300 });
  });

  it('arbitrary values at known keys: a config or a ConfigError naming the file, nothing else', () => {
    fc.assert(fc.property(config, (doc) => loadsOrRefuses(stringify(doc), { SET_VAR: '5' })), { numRuns: 400 });
  });
});
