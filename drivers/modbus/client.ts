/**
 * modbus-serial is CommonJS whose typings declare an ES default export; under NodeNext TypeScript and Node disagree
 * on what that default is. Loading it with require() gives the constructor both agree on.
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';

export type ModbusClient = ModbusRTU;

const require = createRequire(import.meta.url);
/** Loaded with the first client: modbus-serial brings serialport along, which a gateway without Modbus never needs. */
let ModbusClientClass: (new () => ModbusRTU) | undefined;

export function createModbusClient(): ModbusClient {
  ModbusClientClass ??= require('modbus-serial') as new () => ModbusRTU;
  return new ModbusClientClass();
}

/**
 * The port object modbus-serial made on connect (its TcpPort, RTUBufferedPort...). Its typings leave it out, but the
 * link must reach it: a port keeps emitting 'error' after the client let go of it.
 */
interface ClientPort extends EventEmitter {
  destroy?: unknown;
}

/**
 * Frees a client's transport, whatever state it is in; resolves once the port can be opened again.
 * - A TCP port is destroyed, not closed: modbus-serial calls close()'s callback only from the socket's 'close'
 *   event, which never comes when the peer has already gone, so awaiting it would stall the link for good.
 * - A serial port has no destroy(); modbus-serial's destroy() would then do nothing and leave the port open, still
 *   locked (the next open of the path fails) and still reading. It is closed instead, and awaited: serialport locks
 *   the ports it opens, so the path cannot be opened again until the close is done.
 * close() and destroy() detach the client from its port: `onLateError` hears what the port still reports (a write
 * that failed as it closed, "Port is not open" after a disconnection), which would otherwise be an unhandled 'error'.
 */
export function releaseClient(client: ModbusClient, onLateError: (error: Error) => void): Promise<void> {
  const port = (client as unknown as { _port?: ClientPort })._port;
  // Never connected: nothing to release.
  if (!port) return Promise.resolve();
  port.on('error', onLateError);
  if (typeof port.destroy === 'function') {
    client.destroy(() => undefined);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    client.close((error: Error | null) => {
      if (error) onLateError(error);
      resolve();
    });
  });
}
