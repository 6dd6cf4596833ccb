import type { SimulatedSlave } from './config.js';
import type { Logger } from '../../gateway/util/log.js';
import { SimulatedSlaveServer } from './simulated-slave.js';

/**
 * The built-in simulated district: virtual Modbus TCP slaves (pumping station, traffic counter, energy meter) on
 * loopback sockets. The gateway polls them with its ordinary Modbus TCP driver, so the default run exercises real code.
 */
export class SimulatedDistrict {
  readonly slaves: SimulatedSlaveServer[];

  constructor(configs: readonly SimulatedSlave[], log: Logger) {
    this.slaves = configs.map((config) => new SimulatedSlaveServer(config, log.child(config.model)));
  }

  async start(log: Logger): Promise<void> {
    try {
      await Promise.all(this.slaves.map((slave) => slave.start()));
    } catch (error) {
      await this.stop();
      throw error;
    }
    for (const slave of this.slaves) log.info('simulated device listening', { model: slave.config.model, address: `${slave.config.host}:${slave.config.port}`, unit_id: slave.config.unit_id, profile: slave.config.profile });
  }

  async stop(): Promise<void> {
    await Promise.all(this.slaves.map((slave) => slave.stop()));
  }
}
