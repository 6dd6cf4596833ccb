import { rtuLink, tcpLink } from '../../drivers/modbus/modbus-driver.js';
import type { ModbusLink } from '../../drivers/modbus/link.js';
import { createLogger } from '../../gateway/util/log.js';
import type { Target } from './target.js';

/**
 * The link to the target, opened the way the gateway opens its devices' (the same client, serial binding and RTU
 * line silences), so what the probe reads is what the gateway will read. What the link logs (a port error) goes to
 * stderr, away from the table.
 */
export function openTarget(target: Target): ModbusLink {
  const log = createLogger({ level: 'warn', sink: process.stderr, component: 'probe' });
  // A probe run is short: a port that cannot be opened is reported, not reopened, so the reopen pause does not matter.
  if (target.kind === 'tcp') return tcpLink(target.host, target.port, log, 1_000);
  return rtuLink({ name: target.label, ...target }, log);
}
