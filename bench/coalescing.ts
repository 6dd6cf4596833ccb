/**
 * Requests per poll cycle: the planner's plan vs the exact minimum (dynamic programming) vs one request per point,
 * for the sample register maps (the simulated district's profiles and a few shapes met in the field).
 */
import { isModbusDevice } from '../drivers/modbus/config.js';
import { loadConfig } from '../gateway/config-file/load.js';
import { modbusPointSchema, type ModbusPoint } from '../drivers/modbus/config.js';
import { minimumRequestCount, planReads } from '../drivers/modbus/plan.js';

interface SampleMap {
  name: string;
  points: ModbusPoint[];
}

function point(fields: Record<string, unknown>): ModbusPoint {
  return modbusPointSchema.parse(fields);
}

function samples(): SampleMap[] {
  const maps: SampleMap[] = loadConfig('config/default.yaml', {}).devices.filter(isModbusDevice).map((d) => ({ name: `profile of ${d.name}`, points: d.points }));
  // A meter that exposes 40 float32 values back to back (Eastron-like): 80 registers.
  maps.push({ name: 'dense float32 meter (40 values)', points: Array.from({ length: 40 }, (_, i) => point({ name: `v${i}`, table: 'input', address: i * 2, type: 'float32' })) });
  // 300 float32 values: more than one request can carry.
  maps.push({ name: 'large meter (300 float32, 600 registers)', points: Array.from({ length: 300 }, (_, i) => point({ name: `v${i}`, table: 'input', address: i * 2, type: 'float32' })) });
  // A PLC with scattered tags: clusters of a few registers 10–40 apart.
  maps.push({
    name: 'scattered PLC tags (clusters 10-40 apart)',
    points: Array.from({ length: 30 }, (_, i) => point({ name: `t${i}`, address: Math.floor(i / 3) * 37 + (i % 3) * 2, type: i % 2 ? 'uint16' : 'int32' })),
  });
  // Status words: 64 bits of 4 registers plus 200 coils.
  maps.push({
    name: 'status bits (64 register bits + 200 coils)',
    points: [
      ...Array.from({ length: 64 }, (_, i) => point({ name: `b${i}`, address: 100 + Math.floor(i / 16), type: 'bool', bit: i % 16 })),
      ...Array.from({ length: 200 }, (_, i) => point({ name: `c${i}`, table: 'coil', address: i * 3 })),
    ],
  });
  return maps;
}

export function coalescingReport(maxGap = 16): string {
  const rows = [['map', 'points', 'one per point', 'planned', 'minimum', 'registers/bits read'].join(' | ')];
  for (const map of samples()) {
    const plan = planReads(map.points, { maxGap });
    const covered = plan.reduce((sum, r) => sum + r.count, 0);
    const naive = map.points.length;
    rows.push([map.name, String(map.points.length), String(naive), String(plan.length), String(minimumRequestCount(map.points, { maxGap })), String(covered)].join(' | '));
  }
  return `requests per poll cycle (max_gap ${maxGap}):\n${rows.map((r) => `  ${r}`).join('\n')}`;
}
