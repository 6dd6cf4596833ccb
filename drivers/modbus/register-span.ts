/**
 * How many registers a Modbus point occupies. A module of its own that knows only the fields it reads, so the config
 * schema can bound a point's address with it without importing the codec (which takes its point type from the schema).
 */

/** The fields of a point that decide its span. */
export interface SpanFields {
  readonly name: string;
  readonly type: string;
  readonly length?: number | undefined;
}

/** Registers a point occupies; 1 for a coil or discrete input (one bit). */
export function registerSpan(point: SpanFields): number {
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
      return stringLength(point);
    default:
      return 1;
  }
}

/** Registers of a string point, 2 characters each. */
export function stringLength(point: SpanFields): number {
  if (point.length === undefined) throw new TypeError(`string point ${point.name} has no length`);
  return point.length;
}
