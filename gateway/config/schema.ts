/**
 * The config file's schema. TypeScript types are derived from it (z.infer), never kept by hand beside it.
 * Every object is strict: an unknown key is an error, so a typo cannot be silently ignored.
 */
import { z } from 'zod';
import { tags, topicLevel } from './names.js';
import { registerSpan } from '../../drivers/modbus/register-span.js';
import { rulesSchema } from '../alerts/rule-config.js';
import { notifiersSchema } from '../alerts/notify/config.js';
import { duration } from './duration.js';
import { serialLineDeviceSchema } from '../../drivers/serial-line/config.js';
import { serialPortFields } from './serial.js';
import { mqttSchema, type MqttConfig } from '../broker/config.js';
import { describeHost, findPortClashes } from './listen-addresses.js';
import { bufferSchema } from '../buffer/config.js';
import { bridgeSchema } from '../bridge/config.js';
import { mqttDeviceSchema } from '../ingest/config.js';

export const registerTypes = ['int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'bool', 'string'] as const;
export const byteOrders = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export const modbusTables = ['holding', 'input', 'coil', 'discrete'] as const;

export const modbusPointSchema = z
  .strictObject({
    name: topicLevel,
    metric: topicLevel.optional(),
    table: z.enum(modbusTables).default('holding'),
    address: z.number().int().min(0).max(65535),
    type: z.enum(registerTypes).optional(),
    order: z.enum(byteOrders).default('ABCD'),
    bit: z.number().int().min(0).max(15).optional(),
    length: z.number().int().min(1).max(125).optional(),
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    unit: z.string().optional(),
    domain: topicLevel.optional(),
  })
  .superRefine((p, ctx) => {
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
  domain: topicLevel.optional(),
  points: z.array(modbusPointSchema).min(1),
});
export type Profile = z.output<typeof profileSchema>;

const modbusCommon = {
  name: topicLevel,
  /** Defaults to the profile's domain. */
  domain: topicLevel.optional(),
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

export const deviceSchema = z.discriminatedUnion('driver', [modbusTcpDeviceSchema, modbusRtuDeviceSchema, serialLineDeviceSchema, mqttDeviceSchema]);
export type DeviceConfig = z.output<typeof deviceSchema>;

export const simulatorModels = ['water-pumping-station', 'traffic-counter', 'energy-meter'] as const;

const simulatedSlaveSchema = z.strictObject({
  model: z.enum(simulatorModels),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  unit_id: z.number().int().min(0).max(255).default(1),
  profile: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  /** Seed of the signal noise, so a run can be replayed. */
  seed: z.number().int().default(1),
});
export type SimulatorModel = (typeof simulatorModels)[number];
export type SimulatedSlaveConfig = z.output<typeof simulatedSlaveSchema>;

const influxSchema = z
  .strictObject({
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    /** v2: /api/v2/write (InfluxDB 2.x, 3.x, 1.8+, VictoriaMetrics); v1: /write (InfluxDB 1.x before 1.8). */
    api: z.enum(['v2', 'v1']).default('v2'),
    token: z.string().optional(),
    org: z.string().min(1).optional(),
    bucket: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    retention_policy: z.string().min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    /** v1: create the database when the server says it does not exist. */
    create_database: z.boolean().default(false),
    batch_size: z.number().int().min(1).max(50_000).default(5000),
    flush_interval: duration({ min: 10 }).default(1000),
    timeout: duration({ min: 100 }).default(10_000),
    gzip: z.boolean().default(true),
    retry_initial: duration({ min: 10 }).default(1000),
    retry_max: duration({ min: 10 }).default(60_000),
    buffer: bufferSchema(512 * 1024 ** 2),
  })
  .superRefine((influx, ctx) => {
    const only = (keys: readonly (keyof typeof influx)[], api: string) => {
      for (const key of keys) {
        if (influx[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `is for api ${api} (this section says api: ${influx.api})` });
      }
    };
    if (influx.api === 'v2') {
      for (const key of ['org', 'bucket'] as const) {
        if (influx[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'missing (required with api v2)' });
      }
      only(['database', 'retention_policy', 'username', 'password'], 'v1');
      if (influx.create_database) ctx.addIssue({ code: 'custom', path: ['create_database'], message: 'is for api v1 (this section says api: v2)' });
    } else {
      if (influx.database === undefined) ctx.addIssue({ code: 'custom', path: ['database'], message: 'missing (required with api v1)' });
      only(['token', 'org', 'bucket'], 'v2');
      if ((influx.username === undefined) !== (influx.password === undefined)) {
        ctx.addIssue({ code: 'custom', path: [influx.username === undefined ? 'username' : 'password'], message: 'username and password go together' });
      }
    }
    if (influx.retry_max < influx.retry_initial) ctx.addIssue({ code: 'custom', path: ['retry_max'], message: 'must not be shorter than retry_initial' });
  });
export type InfluxConfig = z.output<typeof influxSchema>;

export const configSchema = z
  .strictObject({
    site: topicLevel,
    log: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).default({ level: 'info' }),
    mqtt: mqttSchema.default(mqttSchema.parse({})),
    pipeline: z
      .strictObject({
        /** Readings each consumer may have waiting before the oldest are dropped (counted and logged). */
        queue_size: z.number().int().min(1).default(100_000),
      })
      .default({ queue_size: 100_000 }),
    /** Where the gateway keeps state that must survive a restart (buffers), relative to the config file. */
    data_dir: z.string().default('data'),
    influx: influxSchema.optional(),
    /** Forwarding to the city platform's central broker (store-and-forward), and commands from it. */
    bridge: bridgeSchema.optional(),
    /** Directory of device profiles, relative to the config file. */
    profiles_dir: z.string().default('profiles'),
    buses: z.array(busSchema).default([]),
    devices: z.array(deviceSchema).default([]),
    /** Alert rules; reloaded when this file or a rule file changes. */
    rules: rulesSchema.default([]),
    /** More files of `rules:`, relative to the config file (e.g. one per team). */
    rule_files: z.array(z.string().min(1)).default([]),
    /** Named notification targets for rules' `notify` (webhook, email); MQTT publication always happens. */
    notifiers: notifiersSchema.default({}),
    simulator: z.strictObject({ slaves: z.array(simulatedSlaveSchema).min(1) }).optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.devices.forEach((device, index) => {
      const first = seen.get(device.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['devices', index, 'name'], message: `"${device.name}" is already the name of devices[${first}] (names must be unique)` });
      } else seen.set(device.name, index);
      if ((device.driver === 'modbus-tcp' || device.driver === 'modbus-rtu') && !device.profile && device.points.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['devices', index], message: 'a device needs points or a profile (or both)' });
      }
    });
    const buses = config.buses.map((bus) => bus.name);
    config.buses.forEach((bus, index) => {
      const first = config.buses.findIndex((other) => other.name === bus.name || other.port === bus.port);
      if (first !== index) ctx.addIssue({ code: 'custom', path: ['buses', index], message: `buses[${first}] already has this name or port (one entry per serial line)` });
    });
    // A serial port has one owner: an RTU bus (shared by its unit ids) or one line device.
    const portOwners = new Map(config.buses.map((bus, index) => [bus.port, `buses[${index}]`]));
    config.devices.forEach((device, index) => {
      if (device.driver !== 'serial-line') return;
      const owner = portOwners.get(device.port);
      if (owner) ctx.addIssue({ code: 'custom', path: ['devices', index, 'port'], message: `${device.port} is already used by ${owner} (one serial port, one owner)` });
      else portOwners.set(device.port, `devices[${index}]`);
    });
    checkPortClashes(config, ctx);
    config.devices.forEach((device, index) => {
      if (device.driver === 'modbus-rtu' && !buses.includes(device.bus)) {
        ctx.addIssue({ code: 'custom', path: ['devices', index, 'bus'], message: `no bus "${device.bus}" (defined under buses: ${buses.length ? buses.join(', ') : 'none'})` });
      }
    });
  });

export type GatewayConfig = z.output<typeof configSchema>;

/** Two sockets of the gateway (MQTT listeners, simulated slaves) on one address and port would fail at start. */
function checkPortClashes(config: { mqtt: MqttConfig; simulator?: { slaves: SimulatedSlaveConfig[] } | undefined }, ctx: z.RefinementCtx): void {
  const addresses = [
    ...config.mqtt.listeners.map((l, index) => ({ at: `mqtt.listeners[${index}]`, path: ['mqtt', 'listeners', index, 'port'], host: l.host, port: l.port })),
    ...(config.simulator?.slaves ?? []).map((s, index) => ({ at: `simulator.slaves[${index}]`, path: ['simulator', 'slaves', index, 'port'], host: s.host, port: s.port })),
  ];
  for (const { address, taken } of findPortClashes(addresses)) {
    ctx.addIssue({
      code: 'custom',
      path: address.path,
      message: `${address.host}:${address.port} is already taken by ${taken.at} (${taken.host}:${taken.port}${describeHost(taken.host)}); give one of them another port`,
    });
  }
}
