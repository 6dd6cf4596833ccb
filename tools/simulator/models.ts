import type { SimulatorModel } from './config.js';
import { Excursions } from './excursions.js';
import { bump, hourOfDay, noise, seededRandom } from './random.js';

export type SignalValues = Record<string, number | boolean>;

/** A simulated piece of street equipment: given the time, the values its registers should hold. */
export interface SignalModel {
  /** Point names this model drives; profile points outside this list and `inputs` stay at zero. */
  readonly signals: readonly string[];
  /** Points an operator writes (setpoints, on/off), with their values at start; the model reacts to them. */
  readonly inputs?: Readonly<SignalValues>;
  /** An operator wrote one of `inputs`. */
  set?(name: string, value: number | boolean): void;
  sample(ts: number): SignalValues;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export function createModel(kind: SimulatorModel, seed: number, startTs: number): SignalModel {
  const random = seededRandom(seed);
  switch (kind) {
    case 'water-pumping-station':
      return pumpingStation(random, startTs);
    case 'traffic-counter':
      return trafficCounter(random, startTs);
    case 'energy-meter':
      return energyMeter(random, startTs);
  }
}

/**
 * Drinking-water pumping station with a reservoir: demand peaks morning and evening; bursts and overflows happen. An
 * operator can stop the pump (`pump_enable`: its speed and the inflow it delivers fall to zero, and the reservoir
 * level sinks as demand draws it down) and set the outlet valve (`valve_setpoint`, %: the outflow follows it).
 */
function pumpingStation(random: () => number, startTs: number): SignalModel {
  const events = new Excursions(
    [
      { name: 'burst', meanIntervalMs: 3 * HOUR, minDurationMs: 2 * MINUTE, maxDurationMs: 6 * MINUTE },
      { name: 'overflow', meanIntervalMs: 4 * HOUR, minDurationMs: 3 * MINUTE, maxDurationMs: 8 * MINUTE },
    ],
    random,
    startTs,
    5 * MINUTE,
  );
  const inputs = { pump_enable: true, valve_setpoint: NOMINAL_VALVE };
  let flowTotal = 1_250_000;
  // Metres the reservoir has sunk while the pump was stopped; it refills once the pump runs again.
  let drawdown = 0;
  let last = startTs;
  return {
    signals: ['level', 'inflow', 'outflow', 'pressure', 'pump_running', 'pump_speed', 'turbidity', 'chlorine', 'ph', 'flow_total'],
    inputs: { ...inputs },
    set(name, value) {
      if (name === 'pump_enable') inputs.pump_enable = Boolean(value);
      if (name === 'valve_setpoint') inputs.valve_setpoint = Math.min(100, Math.max(0, Number(value)));
    },
    sample(ts) {
      const hour = hourOfDay(ts);
      const dt = ts - last;
      const demand = 0.35 + 0.65 * Math.max(bump(hour, 7.5, 1.5), bump(hour, 19, 2));
      const burst = events.strength('burst', ts);
      const overflow = events.strength('overflow', ts);
      const valve = inputs.valve_setpoint / NOMINAL_VALVE;
      const outflow = (110 + 190 * demand + 260 * burst) * valve + noise(random, 4);
      const pumpSpeed = inputs.pump_enable ? Math.min(100, 45 + 50 * demand + noise(random, 1.5)) : 0;
      const inflow = inputs.pump_enable ? outflow * (0.95 + 0.1 * Math.sin((hour / 24) * 2 * Math.PI)) + noise(random, 3) : Math.abs(noise(random, 0.5));
      if (inputs.pump_enable) drawdown *= Math.exp(-dt / (10 * MINUTE));
      else drawdown += (Math.max(0, outflow) * dt) / HOUR / RESERVOIR_AREA_M2;
      flowTotal += (Math.max(0, outflow) * dt) / HOUR;
      last = ts;
      return {
        level: Math.max(0, 3.4 - 0.9 * demand + 2.6 * overflow - drawdown + noise(random, 0.01)),
        inflow: Math.max(0, inflow),
        outflow: Math.max(0, outflow),
        pressure: (4.3 - 0.5 * demand - 2.9 * burst) * (inputs.pump_enable ? 1 : 0.4) + noise(random, 0.03),
        pump_running: pumpSpeed > 20,
        pump_speed: pumpSpeed,
        turbidity: 0.25 + 3.5 * burst + Math.abs(noise(random, 0.04)),
        chlorine: 0.48 + noise(random, 0.01),
        ph: 7.35 + noise(random, 0.02),
        flow_total: Math.floor(flowTotal),
      };
    },
  };
}

/** The outlet valve's opening (%) the station runs at until an operator sets another. */
const NOMINAL_VALVE = 60;
/** Surface of the reservoir: how fast its level sinks per m3 drawn without inflow (a small one, so a demo shows it). */
const RESERVOIR_AREA_M2 = 40;

/** Inductive-loop traffic counter on an arterial road: rush hours, and now and then a jam. */
function trafficCounter(random: () => number, startTs: number): SignalModel {
  const events = new Excursions([{ name: 'jam', meanIntervalMs: 2 * HOUR, minDurationMs: 4 * MINUTE, maxDurationMs: 12 * MINUTE }], random, startTs, 3 * MINUTE);
  let vehicles = 0;
  let heavy = 0;
  let last = startTs;
  return {
    signals: ['vehicle_count', 'heavy_vehicle_count', 'flow_rate', 'occupancy', 'speed', 'loop_fault'],
    sample(ts) {
      const hour = hourOfDay(ts);
      const rush = Math.max(bump(hour, 8, 1.2), bump(hour, 17.5, 1.5));
      const night = bump(hour, 3, 2.5);
      const jam = events.strength('jam', ts);
      const flowRate = Math.max(0, (350 + 1100 * rush - 300 * night) * (1 - 0.6 * jam) + noise(random, 25));
      const expected = (flowRate * (ts - last)) / HOUR;
      // Whole vehicles only: carry the fractional part by chance so the long-run rate is right.
      const passed = Math.floor(expected) + (random() < expected % 1 ? 1 : 0);
      vehicles = (vehicles + passed) >>> 0;
      heavy = (heavy + (random() < 0.08 ? passed : 0)) >>> 0;
      last = ts;
      return {
        vehicle_count: vehicles,
        heavy_vehicle_count: heavy,
        flow_rate: flowRate,
        occupancy: Math.min(100, Math.max(0, 6 + 22 * rush + 62 * jam + noise(random, 1.5))),
        speed: Math.max(3, 48 - 14 * rush - 38 * jam + noise(random, 2)),
        loop_fault: false,
      };
    },
  };
}

/** A 0.4 kV feeder's energy meter: load follows the day; an overload trips it now and then. */
function energyMeter(random: () => number, startTs: number): SignalModel {
  const events = new Excursions([{ name: 'overload', meanIntervalMs: 3 * HOUR, minDurationMs: 2 * MINUTE, maxDurationMs: 5 * MINUTE }], random, startTs, 4 * MINUTE);
  let energy = 482_913.2;
  let last = startTs;
  return {
    signals: ['active_power', 'reactive_power', 'voltage_l1', 'voltage_l2', 'voltage_l3', 'current_l1', 'current_l2', 'current_l3', 'power_factor', 'frequency', 'energy_import', 'breaker_closed'],
    sample(ts) {
      const hour = hourOfDay(ts);
      const load = 0.3 + 0.5 * bump(hour, 12.5, 3) + 0.6 * bump(hour, 19.5, 1.8);
      const overload = events.strength('overload', ts);
      const power = 120 + 180 * load + 260 * overload + noise(random, 3);
      const pf = 0.94 - 0.06 * overload + noise(random, 0.005);
      const sag = 11 * overload;
      const voltage = (phase: number) => 231 - 4 * load - sag + phase + noise(random, 0.4);
      const current = (v: number) => (power * 1000) / (3 * v * pf) + noise(random, 1);
      const v1 = voltage(0.3);
      const v2 = voltage(-0.5);
      const v3 = voltage(0.1);
      energy += (power * (ts - last)) / HOUR;
      last = ts;
      return {
        active_power: power,
        reactive_power: power * Math.tan(Math.acos(Math.min(0.999, pf))),
        voltage_l1: v1,
        voltage_l2: v2,
        voltage_l3: v3,
        current_l1: current(v1),
        current_l2: current(v2) * 1.03,
        current_l3: current(v3) * 0.98,
        power_factor: pf,
        frequency: 50 + noise(random, 0.01),
        energy_import: energy,
        breaker_closed: true,
      };
    },
  };
}
