/**
 * serialport's Linux binding with one change: a read that returns 0 bytes is a hang-up. On a tty opened non-blocking
 * in raw mode with VMIN 1 (the binding's defaults), read() returns 0 only when the other side is gone: a USB adapter
 * pulled, a pty whose master closed. @serialport/bindings-cpp retries such a read at once, for ever, and emits neither
 * 'close' nor 'error' — a read loop spinning at 80-90% CPU while the port looks open. Here the read fails as a
 * disconnection instead, so the stream closes the port (a 'close' event with the error) and its owner reopens it.
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';
import {
  BindingsError,
  LinuxBinding,
  type BindingInterface,
  type BindingPortInterface,
  type LinuxOpenOptions,
  type LinuxPortBinding,
  type PortStatus,
  type SetOptions,
  type UpdateOptions,
} from '@serialport/bindings-cpp';

const readAsync = promisify(read);

/** Read errors that mean "nothing yet": wait until the poller says the fd is readable. */
const RETRY_CODES = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR']);

export class HangupError extends Error {
  /** What serialport's bindings set on errors that mean the device went away. */
  readonly disconnect = true;
  constructor() {
    super('end of file: the device hung up');
    this.name = 'HangupError';
  }
}

/** The Linux port binding, delegated to, with a read that turns end of file into a disconnection. */
class HangupAwarePort implements BindingPortInterface {
  constructor(private readonly port: LinuxPortBinding) {}

  get openOptions(): Required<LinuxOpenOptions> {
    return this.port.openOptions;
  }

  get isOpen(): boolean {
    return this.port.isOpen;
  }

  /** bindings-cpp's unixRead, except for what a 0-byte read means. */
  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    for (;;) {
      const fd = this.port.fd;
      // A read in progress when the port closes must fail as canceled (BindingPortInterface), not as a disconnection.
      if (fd === null) throw new BindingsError('Port is not open', { canceled: true });
      try {
        const { bytesRead } = await readAsync(fd, buffer, offset, length, null);
        if (bytesRead === 0) throw new HangupError();
        return { buffer, bytesRead };
      } catch (error) {
        if (!RETRY_CODES.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
        if (!this.port.isOpen) throw new BindingsError('Port is not open', { canceled: true });
        await new Promise<void>((resolve, reject) => this.port.poller.once('readable', (err) => (err ? reject(err) : resolve())));
      }
    }
  }

  close(): Promise<void> {
    return this.port.close();
  }

  write(buffer: Buffer): Promise<void> {
    return this.port.write(buffer);
  }

  update(options: UpdateOptions): Promise<void> {
    return this.port.update(options);
  }

  set(options: SetOptions): Promise<void> {
    return this.port.set(options);
  }

  get(): Promise<PortStatus> {
    return this.port.get();
  }

  getBaudRate(): Promise<{ baudRate: number }> {
    return this.port.getBaudRate();
  }

  flush(): Promise<void> {
    return this.port.flush();
  }

  drain(): Promise<void> {
    return this.port.drain();
  }
}

export const hangupAwareBinding: BindingInterface<HangupAwarePort, LinuxOpenOptions> = {
  list: () => LinuxBinding.list(),
  open: async (options) => new HangupAwarePort(await LinuxBinding.open(options)),
};

/**
 * The binding option of every serial port the gateway opens, to spread into serialport's options: the hang-up aware
 * binding on Linux, where the gateway runs; elsewhere nothing, so serialport picks its own.
 */
export function serialBindingOption(): { binding?: BindingInterface } {
  return process.platform === 'linux' ? { binding: hangupAwareBinding } : {};
}
