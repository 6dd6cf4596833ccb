/**
 * The probe's target, a URL: `tcp://HOST[:PORT]` (port 502 by default) or `rtu:///dev/ttyUSB0?baud=9600&parity=even&stop=1&data=8`
 * (the serial settings of a bus in the gateway's config, with the same defaults: 9600 8N1).
 */
import { z } from 'zod';
import { describeIssues } from '../../gateway/config/errors.js';
import { serialPortSchema, type SerialPortConfig } from '../../gateway/config/serial.js';
import { UsageError } from './exit-codes.js';

/** `label` names the target in the output: the URL, with the serial settings in use for a bus. */
export type Target = { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly label: string } | ({ readonly kind: 'rtu'; readonly label: string } & SerialPortConfig);

/** URL query names -> the keys of a bus in the config. */
const serialKeys: Record<string, keyof SerialPortConfig> = { baud: 'baud', parity: 'parity', stop: 'stop_bits', data: 'data_bits' };

const EXAMPLES = 'tcp://192.168.1.20:502 or rtu:///dev/ttyUSB0?baud=9600&parity=even';

export function parseTarget(text: string): Target {
  if (!text.includes('://')) throw new UsageError(`target "${text}" has no scheme: write tcp://${text.startsWith('/') ? 'HOST:PORT' : text} or rtu://${text.startsWith('/') ? text : '/dev/ttyUSB0'}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`target "${text}" is not a URL (e.g. ${EXAMPLES})`);
  }
  if (url.protocol === 'tcp:') return tcpTarget(url, text);
  if (url.protocol === 'rtu:') return rtuTarget(url, text);
  throw new UsageError(`target "${text}": unknown scheme ${url.protocol}// (tcp:// or rtu://, e.g. ${EXAMPLES})`);
}

function tcpTarget(url: URL, text: string): Target {
  if (!url.hostname) throw new UsageError(`target "${text}" names no host (e.g. tcp://192.168.1.20:502)`);
  if ((url.pathname && url.pathname !== '/') || url.search) throw new UsageError(`target "${text}": a tcp:// target is only host and port (e.g. tcp://192.168.1.20:502)`);
  // URL drops the default port of known schemes only; for tcp:// an empty port means none was given.
  const port = url.port ? Number(url.port) : 502;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', host, port, label: `tcp://${url.host}${url.port ? '' : ':502'}` };
}

function rtuTarget(url: URL, text: string): Target {
  if (url.host) throw new UsageError(`target "${text}": write the serial port after three slashes, rtu:///dev/ttyUSB0`);
  const port = decodeURIComponent(url.pathname);
  if (!port || port === '/') throw new UsageError(`target "${text}" names no serial port (e.g. rtu:///dev/ttyUSB0?baud=9600)`);
  const input: Record<string, unknown> = { port };
  for (const [name, value] of url.searchParams) {
    const key = serialKeys[name];
    if (!key) throw new UsageError(`target "${text}": unknown setting "${name}" (allowed: ${Object.keys(serialKeys).join(', ')})`);
    input[key] = /^\d+$/.test(value) ? Number(value) : value;
  }
  const parsed = serialPortSchema.safeParse(input);
  if (!parsed.success) {
    const [problem = 'invalid'] = describeIssues(`target "${text}"`, parsed.error.issues, input, serialPortSchema as z.ZodType);
    // The keys are the URL's: "stop_bits" is "stop" there.
    throw new UsageError(Object.entries(serialKeys).reduce((line, [name, key]) => line.replace(`: ${key}:`, `: ${name}:`), problem));
  }
  const serial = parsed.data;
  const frame = `${serial.data_bits}${serial.parity[0]!.toUpperCase()}${serial.stop_bits}`;
  return { kind: 'rtu', label: `rtu://${port} ${serial.baud} ${frame}`, ...serial };
}
