import { spawn } from 'node:child_process';
import { exitOf } from './process.js';

export interface MosquittoPubOptions {
  port: number;
  topic: string;
  /** The payload; a Buffer is sent byte for byte (through stdin). */
  message: string | Buffer;
  host?: string;
  username?: string;
  password?: string;
  qos?: 0 | 1 | 2;
  clientId?: string;
  /** Extra mosquitto_pub arguments (TLS files, --repeat, ...). */
  extra?: string[];
}

export interface PubResult {
  /** mosquitto_pub's exit code: 0 once the broker took the message (after PUBACK at QoS 1). */
  readonly code: number;
  /** Its stderr and debug output (connection refusals say why). */
  readonly output: string;
}

/** One publish by an independent MQTT client (Debian mosquitto_pub); resolves when it exits. */
export async function mosquittoPub(opts: MosquittoPubOptions): Promise<PubResult> {
  const args = ['-d', '-h', opts.host ?? '127.0.0.1', '-p', String(opts.port), '-t', opts.topic, '-q', String(opts.qos ?? 0)];
  if (opts.username !== undefined) args.push('-u', opts.username);
  if (opts.password !== undefined) args.push('-P', opts.password);
  if (opts.clientId !== undefined) args.push('-i', opts.clientId);
  args.push(...(opts.extra ?? []));
  const binary = Buffer.isBuffer(opts.message);
  args.push(...(binary ? ['-s'] : ['-m', opts.message as string]));
  const child = spawn('mosquitto_pub', args, { stdio: [binary ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  if (binary) child.stdin!.end(opts.message);
  const { code } = await exitOf(child);
  return { code: code ?? -1, output };
}
