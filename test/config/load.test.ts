import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planReads } from '../../drivers/modbus/plan.js';
import { parseDuration } from '../../gateway/config/duration.js';
import { ConfigError } from '../../gateway/config/errors.js';
import { isModbusDevice } from '../../drivers/modbus/config.js';
import { loadConfig } from '../../gateway/config-file/load.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
  dirs.push(dir);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  return file;
}

describe('loadConfig', () => {
  it('loads the default config: three simulated slaves and the devices polling them', () => {
    const config = loadConfig('config/default.yaml', {});
    expect(config.site).toBe('district-7');
    expect(config.devices.map((d) => [d.name, d.domain])).toEqual([
      ['pump-station-3', 'water'],
      ['loop-counter-a12', 'traffic'],
      ['feeder-meter-7', 'energy'],
    ]);
    expect(config.simulator?.slaves.map((s) => s.model)).toEqual(['water-pumping-station', 'traffic-counter', 'energy-meter']);
    for (const device of config.devices.filter(isModbusDevice)) expect(device.points.length).toBeGreaterThan(4);
    // Defaults are applied and durations are milliseconds.
    expect(config.devices[0]).toMatchObject({ port: 15020, unit_id: 1, poll_interval: 1000, timeout: 500, retries: 1, max_gap: 16 });
    expect(config.mqtt).toMatchObject({ prefix: 'city', listeners: [{ type: 'tcp', host: '127.0.0.1', port: 1883 }] });
  });

  it('refuses a tag value InfluxDB could not store as written (a backslash, a control character)', () => {
    const file = writeConfig(`site: lab
devices:
  - { name: gauge-1, driver: mqtt, domain: water, tags: { share: 'C:\\', zone: "north\\tside", ok: "north zone, 2" } }
`);
    let problems: readonly string[] = [];
    try {
      loadConfig(file, {});
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems.map((p) => p.replace(/^.*?: /, ''))).toEqual([
      expect.stringMatching(/^devices\[0\]\.tags\.share: .*backslash or a control character/),
      expect.stringMatching(/^devices\[0\]\.tags\.zone: .*backslash or a control character/),
    ]);
  });

  it('substitutes ${VAR} and ${VAR:-default}; an unquoted whole reference takes its YAML type, a quoted one stays a string', () => {
    const file = writeConfig(`
site: \${SITE}
mqtt:
  listeners:
    - host: 127.0.0.1
      port: \${MQTT_PORT:-1999}
devices:
  - name: pump-1
    driver: modbus-tcp
    host: "\${PLC_NET}.5"
    domain: water
    tags: { cabinet: "\${CABINET}" }
    points: [{ name: level, address: 0 }]
`);
    const config = loadConfig(file, { SITE: 'harbour', PLC_NET: '10.1.2', CABINET: '0042' });
    expect(config.site).toBe('harbour');
    expect(config.mqtt.listeners[0]!.port).toBe(1999);
    expect(config.devices[0]).toMatchObject({ driver: 'modbus-tcp', host: '10.1.2.5' });
    expect(config.devices[0]!.tags).toEqual({ cabinet: '0042' });
  });

  it('names the key of an unset variable', () => {
    const file = writeConfig('site: s\ndevices:\n  - name: p\n    driver: modbus-tcp\n    host: ${NO_SUCH_HOST_VAR}\n    domain: water\n    points: [{ name: level, address: 0 }]\n');
    expect(() => loadConfig(file, {})).toThrowError(/devices\[0\]\.host: environment variable NO_SUCH_HOST_VAR is not set/);
  });

  it('merges a profile with the device\'s own points, the device\'s winning by name', () => {
    const file = writeConfig(`
site: s
profiles_dir: ${join(process.cwd(), 'config', 'profiles')}
devices:
  - name: meter
    driver: modbus-tcp
    host: 127.0.0.1
    profile: sim-energy-meter
    points:
      - { name: frequency, table: input, address: 18, type: float32, unit: mHz, scale: 1000 }
      - { name: cabinet_temp, table: input, address: 60, type: int16, scale: 0.1, unit: degC }
`);
    const device = loadConfig(file, {}).devices.filter(isModbusDevice)[0]!;
    expect(device.domain).toBe('energy');
    expect(device.points.filter((p) => p.name === 'frequency')).toEqual([expect.objectContaining({ unit: 'mHz', scale: 1000 })]);
    expect(device.points.at(-1)!.name).toBe('cabinet_temp');
  });

  it('loads every shipped profile; the whole Eastron SDM630 map is one request per poll', () => {
    const profiles = readdirSync(join('config', 'profiles')).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5));
    expect(profiles).toEqual(expect.arrayContaining(['eastron-sdm120', 'eastron-sdm630']));
    const file = writeConfig(`
site: s
profiles_dir: ${join(process.cwd(), 'config', 'profiles')}
buses: [{ name: bus-1, port: /dev/ttyUSB0 }]
devices:
${profiles.map((profile, i) => `  - { name: d${i}, driver: modbus-rtu, bus: bus-1, unit_id: ${i + 1}, profile: ${profile} }`).join('\n')}
`);
    const devices = loadConfig(file, {}).devices.filter(isModbusDevice);
    expect(devices).toHaveLength(profiles.length);
    const sdm630 = devices[profiles.indexOf('eastron-sdm630')]!;
    expect(sdm630).toMatchObject({ domain: 'energy', retries: 0 });
    expect(planReads(sdm630.points, { maxGap: sdm630.max_gap })).toEqual([expect.objectContaining({ table: 'input', start: 0, count: 76 })]);
  });

  it('names a missing file', () => {
    expect(() => loadConfig('no/such/gateway.yaml', {})).toThrowError(new ConfigError(['no/such/gateway.yaml: file not found']));
  });

  it('parses durations', () => {
    expect([parseDuration('250ms'), parseDuration('1.5s'), parseDuration('5m'), parseDuration('2h'), parseDuration('5 sec')]).toEqual([250, 1500, 300_000, 7_200_000, undefined]);
  });
});
