/**
 * The config of Modbus devices (TCP and RTU), their points and profiles, and the RS-485 buses RTU devices share.
 * TypeScript types are derived from the schemas (z.infer), never kept by hand beside them.
 */
import { z } from 'zod';
import { duration } from '../../gateway/config/duration.js';
import { checkPointMetric, seriesName, tags, topicLevel } from '../../gateway/config/names.js';
import { serialPortFields } from '../../gateway/config/serial.js';
import { byteOrders, modbusTables, registerSpan, registerTypes } from './registers.js';


export const modbusPointSchema = z
  .strictObject({
    name: topicLevel,
    metric: seriesName.optional(),
    table: z.enum(modbusTables).default('holding'),
    address: z.number().int().min(0).max(65535),
    type: z.enum(registerTypes).optional(),
    order: z.enum(byteOrders).default('ABCD'),
    bit: z.number().int().min(0).max(15).optional(),
    length: z.number().int().min(1).max(125).optional(),
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    unit: z.string().optional(),
    domain: seriesName.optional(),
  })
  .superRefine((p, ctx) => {
    checkPointMetric(p, ctx);
    const bitTable = p.table === 'coil' || p.table === 'discrete';
    if (bitTable && p.type !== undefined && p.type !== 'bool') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${p.table} is a single bit: type must be bool (or left out)` });
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
  })
  .transform((p) => ({
    ...p,
    metric: p.metric ?? p.name,
    type: p.table === 'coil' || p.table === 'discrete' ? ('bool' as const) : (p.type ?? ('uint16' as const)),
  }))
  .superRefine((p, ctx) => {
    const span = registerSpan(p);
    if (p.address + span > 65536) {
      ctx.addIssue({ code: 'custom', path: ['address'], message: `${p.address} + ${span} registers of ${p.type} runs past the last register, 65535` });
    }
  });

export type ModbusPoint = z.output<typeof modbusPointSchema>;

export const profileSchema = z.strictObject({
  description: z.string().optional(),
  domain: seriesName.optional(),
  points: z.array(modbusPointSchema).min(1),
});
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
  points: z.array(modbusPointSchema).default([]),
};

export const modbusTcpDeviceSchema = z.strictObject({
  driver: z.literal('modbus-tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  ...modbusCommon,
});
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
});
export type ModbusRtuDeviceConfig = z.output<typeof modbusRtuDeviceSchema>;

/** A serial line shared by Modbus RTU devices (RS-485). */
export const busSchema = z.strictObject({
  name: topicLevel,
  ...serialPortFields,
});
export type BusConfig = z.output<typeof busSchema>;

/** A Modbus device with its profile merged in: the points to poll and the domain are final. */
type Resolved<T> = Omit<T, 'points' | 'profile' | 'domain'> & { domain: string; points: ModbusPoint[] };
export type ModbusTcpDevice = Resolved<ModbusTcpDeviceConfig>;
export type ModbusRtuDevice = Resolved<ModbusRtuDeviceConfig>;
export type ModbusDevice = ModbusTcpDevice | ModbusRtuDevice;

export function isModbusDevice(device: { readonly driver: string }): device is ModbusDevice {
  return device.driver === 'modbus-tcp' || device.driver === 'modbus-rtu';
}
