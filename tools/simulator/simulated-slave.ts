import { ServerTCP, type IServiceVector } from 'modbus-serial';
import type { ModbusPoint } from '../../drivers/modbus/config.js';
import { decodeBit, decodePoint, encodePoint } from '../../drivers/modbus/codec.js';
import { registerSpan } from '../../drivers/modbus/registers.js';
import type { Logger } from '../../gateway/util/log.js';
import type { SimulatedSlave } from './config.js';
import { createModel, type SignalModel } from './models.js';

/** Modbus exception 2, as a real device answers a read of a register it does not have. */
const illegalAddress = Object.assign(new Error('illegal data address'), { modbusErrorCode: 2 });

/**
 * A virtual Modbus TCP slave on a real socket, holding a profile's register map and refreshing it from a signal
 * model. Like most meters, it answers unmapped registers below its highest mapped one with 0 (so coalesced reads
 * through gaps work) and refuses anything beyond with an illegal-address exception. It takes writes (FC 5/6/15/16)
 * to the model's inputs only, as a PLC keeps its measured values read-only; the model reacts to what is written.
 */
export class SimulatedSlaveServer {
  private readonly registers = { holding: new Map<number, number>(), input: new Map<number, number>() };
  private readonly bits = { coil: new Map<number, boolean>(), discrete: new Map<number, boolean>() };
  private readonly highestOf = new Map<Map<number, unknown>, number>();
  private readonly model: SignalModel;
  private server: ServerTCP | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Requests served, for benchmarks that compare requests per poll with the planner's promise. */
  requests = 0;

  constructor(
    readonly config: SimulatedSlave,
    private readonly log: Logger,
    private readonly refreshMs = 500,
  ) {
    this.model = createModel(config.model, config.seed, Date.now());
    const unknown = config.points.filter((p) => !this.model.signals.includes(p.name)).map((p) => p.name);
    if (unknown.length) log.warn('profile points the model does not drive stay at zero', { profile: config.profile, points: unknown });
    for (const point of config.points) this.store(point, this.model.inputs?.[point.name] ?? (point.type === 'bool' ? false : point.type === 'string' ? '' : 0));
  }

  async start(): Promise<void> {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.refreshMs);
    const server = new ServerTCP(this.vector(), { host: this.config.host, port: this.config.port, unitID: this.config.unit_id });
    this.server = server;
    server.on('socketError', (error) => this.log.debug('simulated slave socket error', { port: this.config.port, error }));
    await new Promise<void>((resolve, reject) => {
      server.on('initialized', () => resolve());
      server.on('serverError', (error) => reject(new Error(`simulated ${this.config.model} cannot listen on ${this.config.host}:${this.config.port}: ${error?.message ?? 'unknown error'}`)));
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // Close the open sockets too: the gateway's pollers should see the device go away, not hang on a half-open link.
    for (const socket of server.socks.keys()) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private refresh(): void {
    const values = this.model.sample(Date.now());
    for (const point of this.config.points) {
      const value = values[point.name];
      if (value !== undefined) this.store(point, value);
    }
  }

  private store(point: ModbusPoint, value: number | boolean | string): void {
    if (point.table === 'coil' || point.table === 'discrete') {
      this.bits[point.table].set(point.address, Boolean(value));
      return;
    }
    const table = this.registers[point.table];
    const words = encodePoint(point, value, table.get(point.address) ?? 0);
    for (let i = 0; i < registerSpan(point); i++) table.set(point.address + i, words[i] ?? 0);
  }

  /** A write from a master: only to an input of the model, which then follows the value as the point decodes it. */
  private written(table: 'holding' | 'coil', address: number, values: readonly (number | boolean)[]): void {
    const end = address + values.length;
    const inputs = this.config.points.filter((p) => p.table === table && this.model.inputs?.[p.name] !== undefined && p.address < end && p.address + registerSpan(p) > address);
    const covered = (a: number) => inputs.some((p) => a >= p.address && a < p.address + registerSpan(p));
    for (let a = address; a < end; a++) if (!covered(a)) throw illegalAddress;
    values.forEach((value, i) => (table === 'coil' ? this.bits.coil.set(address + i, Boolean(value)) : this.registers.holding.set(address + i, Number(value))));
    for (const point of inputs) {
      const value = table === 'coil' ? decodeBit(point, [this.bits.coil.get(point.address) ?? false], point.address) : decodePoint(point, this.wordsOf(point), point.address);
      // The models take plain numbers: a 64-bit input (none today) would reach them as the nearest double.
      if (typeof value !== 'string') this.model.set?.(point.name, typeof value === 'bigint' ? Number(value) : value);
    }
  }

  private wordsOf(point: ModbusPoint): Buffer {
    const words = Buffer.alloc(registerSpan(point) * 2);
    for (let i = 0; i < registerSpan(point); i++) words.writeUInt16BE(this.registers.holding.get(point.address + i) ?? 0, i * 2);
    return words;
  }

  /** The highest mapped address of a table, -1 when it has none (the map only grows at construction). */
  private highest(table: Map<number, unknown>): number {
    let cached = this.highestOf.get(table);
    if (cached === undefined) this.highestOf.set(table, (cached = Math.max(-1, ...table.keys())));
    return cached;
  }

  private vector(): IServiceVector {
    const word = (table: Map<number, number>, addr: number): number => {
      if (addr > this.highest(table)) throw illegalAddress;
      return table.get(addr) ?? 0;
    };
    const words = (table: Map<number, number>, addr: number, length: number): number[] => {
      this.requests++;
      return Array.from({ length }, (_, i) => word(table, addr + i));
    };
    const bit = (table: Map<number, boolean>, addr: number): boolean => {
      if (addr > this.highest(table)) throw illegalAddress;
      return table.get(addr) ?? false;
    };
    return {
      getHoldingRegister: (addr: number) => words(this.registers.holding, addr, 1)[0]!,
      getInputRegister: (addr: number) => words(this.registers.input, addr, 1)[0]!,
      getMultipleHoldingRegisters: (addr: number, length: number) => words(this.registers.holding, addr, length),
      getMultipleInputRegisters: (addr: number, length: number) => words(this.registers.input, addr, length),
      getCoil: (addr: number) => bit(this.bits.coil, addr),
      getDiscreteInput: (addr: number) => bit(this.bits.discrete, addr),
      setCoil: (addr: number, value: boolean) => this.written('coil', addr, [value]),
      setRegister: (addr: number, value: number) => this.written('holding', addr, [value]),
      setRegisterArray: (addr: number, values: number[]) => this.written('holding', addr, values),
    };
  }
}
