/** The vocabulary of Modbus points shared by the config, the codec and the request planner. Pure, no imports. */

export const registerTypes = ['int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'bool', 'string'] as const;
export type RegisterType = (typeof registerTypes)[number];
export const byteOrders = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export const modbusTables = ['holding', 'input', 'coil', 'discrete'] as const;
export type ModbusTable = (typeof modbusTables)[number];

/** Registers a point occupies; 1 for a coil or discrete input (one bit). */
export function registerSpan(point: { readonly name: string; readonly type: RegisterType; readonly length?: number | undefined }): number {
  switch (point.type) {
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'int64':
    case 'uint64':
    case 'float64':
      return 4;
    case 'string':
      if (point.length === undefined) throw new TypeError(`string point ${point.name} has no length`);
      return point.length;
    default:
      return 1;
  }
}
