import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseReference, referenceOf } from '../../drivers/modbus/addressing.js';
import { isModbusDevice } from '../../drivers/modbus/config.js';
import { modbusTables } from '../../drivers/modbus/registers.js';
import { loadConfig } from '../../gateway/config-file/load.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function load(yaml: string, profiles: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gw-addressing-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'profiles'));
  for (const [name, text] of Object.entries(profiles)) writeFileSync(join(dir, 'profiles', `${name}.yaml`), text);
  writeFileSync(join(dir, 'gateway.yaml'), yaml);
  return loadConfig(join(dir, 'gateway.yaml'), {});
}

/** name -> [table, wire address] of every point of the config's first device. */
function wireMap(config: ReturnType<typeof load>): Record<string, [string, number]> {
  const device = config.devices[0];
  if (!device || !isModbusDevice(device)) throw new Error('no Modbus device');
  return Object.fromEntries(device.points.map((p) => [p.name, [p.table, p.address]]));
}

describe('register references', () => {
  it('reads the table digit and the 1-based number, with or without an x, in 4 or 5 digits', () => {
    expect(parseReference('40001')).toMatchObject({ table: 'holding', number: 1 });
    expect(parseReference('30010')).toMatchObject({ table: 'input', number: 10 });
    expect(parseReference('00001')).toMatchObject({ table: 'coil', number: 1 });
    expect(parseReference('10002')).toMatchObject({ table: 'discrete', number: 2 });
    expect(parseReference('4x0100')).toMatchObject({ table: 'holding', number: 100 });
    expect(parseReference('3X00100')).toMatchObject({ table: 'input', number: 100 });
    expect(parseReference('465536')).toMatchObject({ table: 'holding', number: 65536 });
  });

  it('refuses what is no reference, number 0, and numbers past the last register, saying why', () => {
    expect(parseReference('0')).toMatch(/is not a register reference/);
    expect(parseReference('4001')).toMatch(/is not a register reference/);
    expect(parseReference('50001')).toMatch(/is not a register reference/);
    expect(parseReference('40000')).toBe('"40000": references count from 1 (the first holding register is "40001")');
    expect(parseReference('465537')).toBe('"465537": past the last holding register, "465536"');
  });

  it('writes every wire address of every table as a reference that reads back to it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...modbusTables), fc.integer({ min: 0, max: 65535 }), (table, wire) => {
        const text = referenceOf(table, wire);
        expect(text).toHaveLength(wire < 9999 ? 5 : 6);
        expect(parseReference(text)).toMatchObject({ table, number: wire + 1 });
      }),
    );
  });
});

describe('point addresses in the config', () => {
  it('keeps a plain number the wire address by default, and reads references 1-based whatever the base', () => {
    const config = load(`
site: lab
devices:
  - name: meter
    driver: modbus-tcp
    host: 127.0.0.1
    domain: energy
    points:
      - { name: plain, address: 40001 }
      - { name: holding_ref, address: "40001" }
      - { name: input_ref, address: "30002", type: float32 }
      - { name: x_ref, address: "4x0010" }
      - { name: six_digits, address: "410000" }
      - { name: coil_ref, address: "00003" }
      - { name: discrete_ref, table: discrete, address: "10004" }
`);
    expect(wireMap(config)).toEqual({
      plain: ['holding', 40001],
      holding_ref: ['holding', 0],
      input_ref: ['input', 1],
      x_ref: ['holding', 9],
      six_digits: ['holding', 9999],
      coil_ref: ['coil', 2],
      discrete_ref: ['discrete', 3],
    });
  });

  it('subtracts one from plain addresses with address_base 1, for the device and for a profile, each its own', () => {
    const config = load(
      `
site: lab
devices:
  - name: meter
    driver: modbus-tcp
    host: 127.0.0.1
    profile: manual
    address_base: 1
    points:
      - { name: own, address: 1 }
      - { name: own_ref, address: "40001" }
      - { name: last, address: 65536 }
`,
      { manual: 'domain: energy\naddress_base: 1\npoints:\n  - { name: voltage, table: input, address: 1, type: float32 }\n' },
    );
    expect(wireMap(config)).toEqual({ voltage: ['input', 0], own: ['holding', 0], own_ref: ['holding', 0], last: ['holding', 65535] });
  });

  it('leaves a profile without address_base at wire addresses, whatever the device says', () => {
    const config = load(
      `
site: lab
devices:
  - { name: meter, driver: modbus-tcp, host: 127.0.0.1, profile: wire, address_base: 1, points: [{ name: own, address: 5 }] }
`,
      { wire: 'domain: energy\npoints:\n  - { name: voltage, address: 5 }\n' },
    );
    expect(wireMap(config)).toEqual({ voltage: ['holding', 5], own: ['holding', 4] });
  });
});
