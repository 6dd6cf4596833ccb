/**
 * The config of Modbus devices (TCP and RTU), their points and profiles, and the RS-485 buses RTU devices share.
 * TypeScript types are derived from the schemas (z.infer), never kept by hand beside them.
 */
import { z } from 'zod';
import { duration } from '../../gateway/config/duration.js';
import { checkPointMetric, seriesName, tags, topicLevel } from '../../gateway/config/names.js';
import { serialPortFields } from '../../gateway/config/serial.js';
import { LAST_ADDRESS, parseReference, referenceFamily, referenceOf, tableNouns, wireOfPlain, type AddressBase, type RegisterReference } from './addressing.js';
import { byteOrders, modbusTables, registerSpan, registerTypes, type ModbusTable, type RegisterType } from './registers.js';
import { deadbandProblem, reportByExceptionFields } from '../report-by-exception.js';


/** A point's address as written: a number in the address_base of the points around it, or a reference ("40001"). */
const pointAddress = z
  .union([z.number().int().min(0).max(LAST_ADDRESS + 1).describe('a register address from 0 to 65535 (1 to 65536 with address_base: 1)'), z.string().describe('a register reference like "40001"')])
  .superRefine((address, ctx) => {
    const reference = typeof address === 'string' ? parseReference(address) : undefined;
    if (typeof reference === 'string') ctx.addIssue({ code: 'custom', message: reference });
  });

/** The reference a point's address is written as, if it is one that parses. */
function referenceIn(address: number | string): RegisterReference | undefined {
  if (typeof address === 'number') return undefined;
  const reference = parseReference(address);
  return typeof reference === 'string' ? undefined : reference;
}

/**
 * A point as the config writes it. Its table may be implied by a reference ("30001" is an input register); its
 * address becomes a wire address only beside its address_base (see toWirePoint).
 */
export const modbusPointConfigSchema = z
  .strictObject({
    name: topicLevel,
    metric: seriesName.optional(),
    /** Default holding, or the table of the reference the address is written as. */
    table: z.enum(modbusTables).optional(),
    address: pointAddress,
    type: z.enum(registerTypes).optional(),
    order: z.enum(byteOrders).default('ABCD'),
    bit: z.number().int().min(0).max(15).optional(),
    length: z.number().int().min(1).max(125).optional(),
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    unit: z.string().optional(),
    domain: seriesName.optional(),
    /** Takes commands (`{prefix}/{site}/command/{device}/{point}`): holding registers and coils only. */
    writable: z.boolean().default(false),
    /** Smallest value a command may write, in the point's unit (after scale and offset); numeric points only. */
    min: z.number().finite().optional(),
    /** Largest value a command may write, in the point's unit (after scale and offset); numeric points only. */
    max: z.number().finite().optional(),
    ...reportByExceptionFields,
  })
  .superRefine((p, ctx) => {
    checkPointMetric(p, ctx);
    checkWritable(p, ctx);
    const reference = referenceIn(p.address);
    if (reference && p.table !== undefined && p.table !== reference.table) {
      ctx.addIssue({
        code: 'custom',
        path: ['address'],
        message: `"${p.address}" is a ${tableNouns[reference.table]} (${referenceFamily(reference.table)}) but the point's table is ${p.table}: write the ${tableNouns[p.table]} as "${referenceOf(p.table, reference.number - 1)}", or table: ${reference.table} (or leave table out)`,
      });
    }
    const table = p.table ?? reference?.table ?? 'holding';
    const bitTable = table === 'coil' || table === 'discrete';
    if (bitTable && p.type !== undefined && p.type !== 'bool') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${table} is a single bit: type must be bool (or left out)` });
    }
    if (p.bit !== undefined && (bitTable || (p.type ?? 'uint16') !== 'bool')) {
      ctx.addIssue({ code: 'custom', path: ['bit'], message: 'bit selects one bit of a holding/input register: use it with type bool' });
    }
    if (p.type === 'string' && p.length === undefined) {
      ctx.addIssue({ code: 'custom', path: ['length'], message: 'a string point needs length (number of registers, 2 characters each)' });
    }
    if (p.length !== undefined && p.type !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['length'], message: 'length is only for type string' });
    }
    const type = bitTable ? 'bool' : (p.type ?? 'uint16');
    const deadband = deadbandProblem(p, type, type !== 'bool' && type !== 'string');
    if (deadband) ctx.addIssue({ code: 'custom', path: ['deadband'], message: deadband });
  })
  .transform((p) => {
    const reference = referenceIn(p.address);
    const table = p.table ?? reference?.table ?? 'holding';
    const point = {
      ...p,
      metric: p.metric ?? p.name,
      table,
      address: reference ?? (p.address as number),
      type: table === 'coil' || table === 'discrete' ? ('bool' as const) : (p.type ?? ('uint16' as const)),
    };
    parsedPoints.add(point);
    return point;
  });

/** A point's `writable`, `min` and `max` against its table and type. */
function checkWritable(p: { table?: ModbusTable | undefined; address: number | string; type?: RegisterType | undefined; scale: number; writable: boolean; min?: number | undefined; max?: number | undefined }, ctx: z.RefinementCtx): void {
  const table = p.table ?? referenceIn(p.address)?.table ?? 'holding';
  if (p.writable && (table === 'input' || table === 'discrete')) {
    const writableTwin = table === 'input' ? 'holding register' : 'coil';
    ctx.addIssue({ code: 'custom', path: ['writable'], message: `${tableNouns[table]}s are read-only (Modbus has no function that writes them): remove writable, or point it at the ${writableTwin} the device's manual gives for this value` });
  }
  if (p.writable && p.scale === 0) ctx.addIssue({ code: 'custom', path: ['writable'], message: 'with scale 0 the point reads the same whatever is written: it cannot be writable' });
  const numeric = table !== 'coil' && table !== 'discrete' && p.type !== 'bool' && p.type !== 'string';
  for (const bound of ['min', 'max'] as const) {
    if (p[bound] === undefined) continue;
    if (!p.writable) ctx.addIssue({ code: 'custom', path: [bound], message: `${bound} bounds the values a command may write: use it with writable: true` });
    else if (!numeric) ctx.addIssue({ code: 'custom', path: [bound], message: `${bound} is for numeric points; a ${p.type ?? 'bool'} point takes ${p.type === 'string' ? 'any text of its length' : 'true or false'}` });
  }
  if (p.min !== undefined && p.max !== undefined && p.min > p.max) ctx.addIssue({ code: 'custom', path: ['max'], message: `max ${p.max} is below min ${p.min}` });
}

/**
 * The points that parsed whole. A device with a bad point still has its other points' addresses checked (every
 * problem at once), and a point that failed, not being transformed, must be left out of that check.
 */
const parsedPoints = new WeakSet<object>();

export type ModbusPointConfig = z.output<typeof modbusPointConfigSchema>;
/** A point ready to poll: its address is the wire address. */
export type ModbusPoint = Omit<ModbusPointConfig, 'address'> & { address: number };

/** Why a point's address does not fit, with the address_base of the points around it; undefined when it does. */
function addressProblem(point: ModbusPointConfig, base: AddressBase): string | undefined {
  const wire = typeof point.address === 'number' ? wireOfPlain(point.address, base) : point.address.number - 1;
  if (typeof wire === 'string') return wire;
  const span = registerSpan(point);
  if (wire + span > LAST_ADDRESS + 1) return `${describeAddress(point.address)} + ${span} registers of ${point.type} runs past the last register (wire address ${LAST_ADDRESS})`;
  return undefined;
}

function describeAddress(address: number | RegisterReference): string {
  return typeof address === 'number' ? String(address) : `"${address.text}"`;
}

/** The point at its wire address; its address was checked by checkPointAddresses. */
export function toWirePoint(point: ModbusPointConfig, base: AddressBase): ModbusPoint {
  return { ...point, address: typeof point.address === 'number' ? point.address - base : point.address.number - 1 };
}

/**
 * Checks the addresses of the points beside an address_base (a device's, a profile's), even when other keys of the
 * device have problems (every problem at once): only points that parsed whole, only beside a valid address_base.
 */
function checkPointAddresses(value: { address_base: AddressBase; points: readonly ModbusPointConfig[] }, ctx: z.RefinementCtx): void {
  if ((value.address_base !== 0 && value.address_base !== 1) || !Array.isArray(value.points)) return;
  value.points.forEach((point, index) => {
    const problem = parsedPoints.has(point) ? addressProblem(point, value.address_base) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', path: ['points', index, 'address'], message: problem });
  });
}
const always = { when: () => true };

/** 0: addresses are wire addresses (the default); 1: addresses are 1-based register numbers, as many manuals write. */
const addressBase = z.union([z.literal(0), z.literal(1)]).default(0);

/** A point at a wire address (address_base 0), as tests, benches and tools write them. */
export const modbusPointSchema = modbusPointConfigSchema
  .superRefine((point, ctx) => {
    const problem = addressProblem(point, 0);
    if (problem) ctx.addIssue({ code: 'custom', path: ['address'], message: problem });
  })
  .transform((point): ModbusPoint => toWirePoint(point, 0));

export const profileSchema = z
  .strictObject({
    description: z.string().optional(),
    domain: seriesName.optional(),
    address_base: addressBase,
    points: z.array(modbusPointConfigSchema).min(1),
  })
  .superRefine(checkPointAddresses, always)
  .transform(({ address_base, points, ...profile }) => ({ ...profile, points: points.map((point) => toWirePoint(point, address_base)) }));
export type Profile = z.output<typeof profileSchema>;

const modbusCommon = {
  name: seriesName,
  /** Defaults to the profile's domain. */
  domain: seriesName.optional(),
  tags: tags.default({}),
  unit_id: z.number().int().min(0).max(255).default(1),
  poll_interval: duration({ min: 10 }).default(1000),
  timeout: duration({ min: 10 }).default(1000),
  retries: z.number().int().min(0).max(10).default(1),
  /** Longest run of unused registers (or bits) a coalesced read may span to save a request. */
  max_gap: z.number().int().min(0).max(124).default(16),
  /** Cap of the exponential reconnect backoff of an offline device. */
  backoff_max: duration({ min: 10 }).default(30_000),
  profile: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a profile name is a file name under config/profiles without .yaml').optional(),
  /** Of the device's own points; a profile's points follow the profile's own address_base. */
  address_base: addressBase,
  points: z.array(modbusPointConfigSchema).default([]),
};

export const modbusTcpDeviceSchema = z.strictObject({
  driver: z.literal('modbus-tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  ...modbusCommon,
}).superRefine(checkPointAddresses, always);
export type ModbusTcpDeviceConfig = z.output<typeof modbusTcpDeviceSchema>;

export const modbusRtuDeviceSchema = z.strictObject({
  driver: z.literal('modbus-rtu'),
  /** The name of a serial bus under `buses:`. */
  bus: topicLevel,
  ...modbusCommon,
  // 0 is broadcast (no answer), 248-255 are reserved on a serial line.
  unit_id: z.number().int().min(1).max(247),
  // A silent meter on a shared bus should cost one timeout per attempt, not several: the poller backs it off instead.
  retries: z.number().int().min(0).max(10).default(0),
}).superRefine(checkPointAddresses, always);
export type ModbusRtuDeviceConfig = z.output<typeof modbusRtuDeviceSchema>;

/** A serial line shared by Modbus RTU devices (RS-485). */
export const busSchema = z.strictObject({
  name: topicLevel,
  ...serialPortFields,
});
export type BusConfig = z.output<typeof busSchema>;

/** A Modbus device with its profile merged in: the points to poll and the domain are final. */
type Resolved<T> = Omit<T, 'points' | 'profile' | 'domain' | 'address_base'> & { domain: string; points: ModbusPoint[] };
export type ModbusTcpDevice = Resolved<ModbusTcpDeviceConfig>;
export type ModbusRtuDevice = Resolved<ModbusRtuDeviceConfig>;
export type ModbusDevice = ModbusTcpDevice | ModbusRtuDevice;

export function isModbusDevice(device: { readonly driver: string }): device is ModbusDevice {
  return device.driver === 'modbus-tcp' || device.driver === 'modbus-rtu';
}
