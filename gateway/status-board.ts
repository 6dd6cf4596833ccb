import type { DeviceStatus } from './model.js';
import type { Logger } from './util/log.js';

export type StatusListener = (status: DeviceStatus) => void;

/**
 * The current status of every device. Drivers report freely; listeners hear only changes of state or error,
 * so a device failing every poll announces itself once.
 */
export class StatusBoard {
  private readonly current = new Map<string, DeviceStatus>();
  private readonly listeners: StatusListener[] = [];

  constructor(private readonly log: Logger) {}

  onChange(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  report(status: DeviceStatus): void {
    const previous = this.current.get(status.device);
    if (previous && previous.state === status.state && previous.error === status.error) return;
    this.current.set(status.device, status);
    const fields = { device: status.device, error: status.error, code: status.code };
    if (status.state === 'offline') this.log.warn('device offline', fields);
    else if (status.error) this.log.warn(previous?.state === 'online' ? 'device problem' : 'device online with a problem', fields);
    else this.log.info('device online', fields);
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (error) {
        this.log.error('status listener failed', { device: status.device, error });
      }
    }
  }

  get(device: string): DeviceStatus | undefined {
    return this.current.get(device);
  }

  all(): DeviceStatus[] {
    return [...this.current.values()];
  }
}
