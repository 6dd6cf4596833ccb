/**
 * The config file's schema, composed from the parts of the gateway and the registered device kinds (gateway/plugins.ts).
 * TypeScript types are derived from it (z.infer), never kept by hand beside it. Every object is strict: an unknown key
 * is an error, so a typo cannot be silently ignored.
 */
import { z } from 'zod';
import type { Claim, ConfigSections } from '../../drivers/plugin.js';
import { simulatorSchema, type SimulatedSlaveConfig } from '../../tools/simulator/config.js';
import { notifiersSchema } from '../alerts/notify/config.js';
import { rulesSchema } from '../alerts/rule-config.js';
import { mqttSchema, type MqttConfig } from '../broker/config.js';
import { commandsSchema } from '../commands/config.js';
import { httpSchema, type HttpConfig } from '../http/config.js';
import { checkNodeRed, nodeRedSchema } from '../node-red/config.js';
import { describeHost, findPortClashes } from '../config/listen-addresses.js';
import { topicLevel } from '../config/names.js';
import { size } from '../config/size.js';
import { deviceKinds, sinkKinds } from '../plugins.js';

/** Per consumer: about 100,000 readings, a few seconds of the heaviest ingest. */
const DEFAULT_MAX_QUEUE = 16 * 1024 * 1024;

const [firstKind, ...otherKinds] = deviceKinds;
export const deviceSchema = z.discriminatedUnion('driver', [firstKind.schema, ...otherKinds.map((kind) => kind.schema)]);

/** The top-level sections device kinds own (`buses:`), by name. */
const kindSections: Record<string, z.ZodType> = Object.assign({}, ...deviceKinds.map((kind) => kind.sections));
/** The outputs' sections (`influx:`, `bridge:`), each optional: an output runs when its section is there. */
const sinkSections: Record<string, z.ZodType> = Object.fromEntries(sinkKinds.map((kind) => [kind.name, kind.schema.optional()]));

const baseShape = {
    site: topicLevel,
    log: z
      .strictObject({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        /** `text`: logfmt lines for a console; `json`: one JSON object per line for collectors (Loki, journald). */
        format: z.enum(['text', 'json']).default('text'),
      })
      .default({ level: 'info', format: 'text' }),
    mqtt: mqttSchema.default(mqttSchema.parse({})),
    /** The HTTP server: status page, API, /metrics. */
    http: httpSchema.default(httpSchema.parse({})),
    pipeline: z
      .strictObject({
        /**
         * Memory each consumer (MQTT, InfluxDB buffer, bridge, rules) may have waiting. Producers are held back from
         * half of it on (backpressure); what is pushed past it regardless is dropped, oldest first, and counted.
         */
        max_queue: size({ min: 64 * 1024 }).default(DEFAULT_MAX_QUEUE),
        /** Removed (it was a count of readings): refused, with the fix. Use `max_queue`. */
        queue_size: z
          .unknown()
          .refine(() => false, { message: 'queue_size (a count of readings) is gone: queues are sized in bytes now; write max_queue: 16MB' })
          .optional(),
      })
      .default({ max_queue: DEFAULT_MAX_QUEUE }),
    /** Commands to the points of polled devices: staleness, queueing and the audit log (data_dir/audit). */
    commands: commandsSchema,
    /** Where the gateway keeps state that must survive a restart (buffers), relative to the config file. */
    data_dir: z.string().default('data'),
    // Here come the outputs' sections (`influx`, `bridge`; see configSchema).
    /** Directory of device profiles, relative to the config file. */
    profiles_dir: z.string().default('profiles'),
    // Here come the sections of device kinds (see configSchema), then the devices.
    devices: z.array(deviceSchema).default([]),
    /** Alert rules; reloaded when this file or a rule file changes. */
    rules: rulesSchema.default([]),
    /** More files of `rules:`, relative to the config file (e.g. one per team). */
    rule_files: z.array(z.string().min(1)).default([]),
    /** Named notification targets for rules' `notify` (webhook, email); MQTT publication always happens. */
    notifiers: notifiersSchema.default({}),
    /** Operators' flows: a supervised Node-RED child, its editor at /red/. */
    node_red: nodeRedSchema.default(nodeRedSchema.parse({})),
    simulator: simulatorSchema.optional(),
};

/** The base keys with the outputs' sections before `profiles_dir:` and the kinds' before `devices:` (the order problems are listed in). */
function composeShape(): typeof baseShape {
  const entries = Object.entries(baseShape);
  const before = (key: string) => entries.findIndex(([name]) => name === key);
  const [outputsAt, kindsAt] = [before('profiles_dir'), before('devices')];
  // These sections are validated like every other key; their values are typed by the plugins that own them.
  return Object.fromEntries([
    ...entries.slice(0, outputsAt),
    ...Object.entries(sinkSections),
    ...entries.slice(outputsAt, kindsAt),
    ...Object.entries(kindSections),
    ...entries.slice(kindsAt),
  ]) as typeof baseShape;
}

export const configSchema = z
  .strictObject(composeShape())
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.devices.forEach((device, index) => {
      const first = seen.get(device.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['devices', index, 'name'], message: `"${device.name}" is already the name of devices[${first}] (names must be unique)` });
      } else seen.set(device.name, index);
    });
    const sections = sectionsOf(config);
    checkClaims(
      deviceKinds.flatMap((kind) => kind.claims(config.devices, sections)),
      ctx,
    );
    checkPortClashes(config, ctx);
    checkNodeRed(config, ctx);
    for (const kind of deviceKinds) kind.check(config.devices, sections, ctx);
  });

export type GatewayConfig = z.output<typeof configSchema>;

/** The sections device kinds own, as they were parsed. */
export function sectionsOf(config: Readonly<Record<string, unknown>>): ConfigSections {
  return Object.fromEntries(Object.keys(kindSections).map((name) => [name, config[name]]));
}

/** The outputs' sections present in the config, as they were parsed. */
export function sinkSectionsOf(config: Readonly<Record<string, unknown>>): ConfigSections {
  return Object.fromEntries(sinkKinds.filter((kind) => config[kind.name] !== undefined).map((kind) => [kind.name, config[kind.name]]));
}

/** A value claimed twice (a serial port used by a bus and a line device) is refused at the second claim. */
function checkClaims(claims: readonly Claim[], ctx: z.RefinementCtx): void {
  const owners = new Map<string, Claim>();
  for (const claim of claims) {
    const owner = owners.get(claim.resource);
    if (owner) ctx.addIssue({ code: 'custom', path: [...claim.path], message: `${claim.value} is already used by ${owner.at} (${claim.rule})` });
    else owners.set(claim.resource, claim);
  }
}

/** Two sockets of the gateway (MQTT listeners, the HTTP server, simulated slaves) on one address and port would fail at start. */
function checkPortClashes(config: { mqtt: MqttConfig; http: HttpConfig; simulator?: { slaves: SimulatedSlaveConfig[] } | undefined }, ctx: z.RefinementCtx): void {
  const addresses = [
    ...config.mqtt.listeners.map((l, index) => ({ at: `mqtt.listeners[${index}]`, path: ['mqtt', 'listeners', index, 'port'], host: l.host, port: l.port })),
    ...(config.http.enabled ? [{ at: 'http.listen', path: ['http', 'listen', 'port'], host: config.http.listen.host, port: config.http.listen.port }] : []),
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
