/** The `simulator:` section: virtual Modbus TCP slaves of the simulated district, each serving a device profile. */
import { z } from 'zod';
import type { ConfigContext } from '../../gateway/config/context.js';
import type { ModbusPoint } from '../../drivers/modbus/config.js';
import { lookupProfile } from '../../drivers/modbus/profiles.js';

export const simulatorModels = ['water-pumping-station', 'traffic-counter', 'energy-meter'] as const;
export type SimulatorModel = (typeof simulatorModels)[number];

const simulatedSlaveSchema = z.strictObject({
  model: z.enum(simulatorModels),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  unit_id: z.number().int().min(0).max(255).default(1),
  profile: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  /** Seed of the signal noise, so a run can be replayed. */
  seed: z.number().int().default(1),
});
export type SimulatedSlaveConfig = z.output<typeof simulatedSlaveSchema>;

export const simulatorSchema = z.strictObject({ slaves: z.array(simulatedSlaveSchema).min(1) });

/** A slave with its profile's points: the registers it serves. */
export type SimulatedSlave = SimulatedSlaveConfig & { points: ModbusPoint[] };

export function resolveSimulator(section: z.output<typeof simulatorSchema>, ctx: ConfigContext): { slaves: SimulatedSlave[] } {
  return {
    slaves: section.slaves.map((slave, index) => ({ ...slave, points: lookupProfile(slave.profile, `simulator.slaves[${index}].profile`, ctx)?.points ?? [] })),
  };
}
