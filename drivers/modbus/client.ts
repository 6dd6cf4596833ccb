/**
 * modbus-serial is CommonJS whose typings declare an ES default export; under NodeNext TypeScript and Node disagree
 * on what that default is. Loading it with require() gives the constructor both agree on.
 */
import { createRequire } from 'node:module';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';

export type ModbusClient = ModbusRTU;

const require = createRequire(import.meta.url);
const ModbusClientClass = require('modbus-serial') as new () => ModbusRTU;

export function createModbusClient(): ModbusClient {
  return new ModbusClientClass();
}
