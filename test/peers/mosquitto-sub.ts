import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { exitOf, isRunning, stopChild } from './process.js';

export interface MqttMessage {
  topic: string;
  /** The payload as UTF-8 text. */
  payload: string;
  /** The exact payload bytes (binary payloads survive the trip through mosquitto_sub). */
  bytes: Buffer;
  retained: boolean;
  qos: number;
  /** When mosquitto_sub received it (epoch ms, its own clock reading). */
  receivedAt: number;
}

export interface MosquittoSubOptions {
  port: number;
  topic: string | string[];
  host?: string;
  username?: string;
  password?: string;
  qos?: 0 | 1 | 2;
  clientId?: string;
  /** A session that outlives the connection (clean session off; needs a clientId). */
  persistent?: boolean;
}

export interface MosquittoSub {
  /** Every message received so far, in order. */
  readonly messages: MqttMessage[];
  /** mosquitto_sub's debug output and stderr so far. */
  readonly output: string;
  /** Resolves once the broker has acknowledged the subscription (SUBACK), rejects if it refused it or we died. */
  ready(): Promise<void>;
  /** The first message — already received or still to come — matching `predicate` (default: any). */
  next(predicate?: (message: MqttMessage) => boolean, timeoutMs?: number): Promise<MqttMessage>;
  /** SIGTERM, wait for exit; pending next() calls reject. Idempotent. */
  stop(): Promise<void>;
}

const MARK = '=MSG= ';
// MARK retained qos length received-at hexpayload topic — topic last because it may contain spaces; hex so payloads
// with newlines or binary bytes cannot break the one-line-per-message framing.
const FORMAT = `${MARK}%r %q %l %U %x %t`;
const LINE = /^=MSG= ([01]) (\d) (\d+) (\d+\.\d+) ([0-9a-f]*) (.*)$/;
const SUBSCRIBED = /^Subscribed \(mid: \d+\): (.*)$/;
const DEFAULT_TIMEOUT_MS = 15_000;

/** An independent MQTT client (Debian mosquitto_sub) recording what a broker delivers. */
export function mosquittoSub(opts: MosquittoSubOptions): MosquittoSub {
  const topics = Array.isArray(opts.topic) ? opts.topic : [opts.topic];
  // -d prints "received SUBACK" / "Subscribed (mid: 1): <granted qos...>": the readiness event.
  const args = ['-d', '-h', opts.host ?? '127.0.0.1', '-p', String(opts.port), '-F', FORMAT];
  for (const topic of topics) args.push('-t', topic);
  if (opts.qos !== undefined) args.push('-q', String(opts.qos));
  if (opts.username !== undefined) args.push('-u', opts.username);
  if (opts.password !== undefined) args.push('-P', opts.password);
  if (opts.clientId !== undefined) args.push('-i', opts.clientId);
  if (opts.persistent) args.push('-c');

  // mosquitto_sub flushes stdout after each message but not after its debug lines, so into a pipe the SUBACK line
  // would sit in the stdio buffer until the first message: stdbuf (coreutils) makes stdout line-buffered.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: MqttMessage[] = [];
  let output = '';
  const note = (text: string): void => {
    output = (output + text).slice(-64 * 1024);
  };
  child.stderr.setEncoding('utf8').on('data', note);

  type Waiter = { predicate: (m: MqttMessage) => boolean; resolve: (m: MqttMessage) => void; reject: (e: Error) => void };
  const waiters = new Set<Waiter>();

  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const readyPromise = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // Nobody has to call ready(): keep an early death from becoming an unhandled rejection.
  readyPromise.catch(() => undefined);

  createInterface({ input: child.stdout }).on('line', (line) => {
    const match = LINE.exec(line);
    if (match === null) {
      note(`${line}\n`);
      const granted = SUBSCRIBED.exec(line);
      if (granted !== null) {
        // 128 (0x80) in the granted list means the broker refused that topic filter.
        const codes = (granted[1] ?? '').split(',').map((code) => Number(code.trim()));
        if (codes.some((code) => code >= 0x80)) failReady(new Error(`subscription refused: ${line}`));
        else markReady();
      }
      return;
    }
    const [, retained, qos, length, receivedAt, hex, topic] = match;
    const bytes = Buffer.from(hex ?? '', 'hex');
    if (bytes.length !== Number(length)) note(`[mosquitto-sub: length mismatch] ${line}\n`);
    const message: MqttMessage = {
      topic: topic ?? '',
      payload: bytes.toString('utf8'),
      bytes,
      retained: retained === '1',
      qos: Number(qos),
      receivedAt: Number(receivedAt) * 1000,
    };
    messages.push(message);
    for (const waiter of waiters) {
      if (waiter.predicate(message)) {
        waiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  });

  let stopping = false;
  const exited = exitOf(child);
  const deathError = (): Error =>
    new Error(`mosquitto_sub ${stopping ? 'was stopped' : 'exited'} (topics ${topics.join(', ')}); output:\n${output}`);
  child.once('error', (error) => failReady(new Error(`cannot start mosquitto_sub: ${error.message}`)));
  void exited.then(() => {
    // Wait for stdout to drain so the output in the error is complete and late messages are still recorded.
    const settle = (): void => {
      failReady(deathError());
      for (const waiter of waiters) waiter.reject(deathError());
      waiters.clear();
    };
    if (child.stdout.closed) settle();
    else child.stdout.once('close', settle);
  });

  return {
    messages,
    get output() {
      return output;
    },
    ready: () => readyPromise,
    next(predicate = () => true, timeoutMs = DEFAULT_TIMEOUT_MS) {
      const found = messages.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      if (!isRunning(child) && child.pid !== undefined) return Promise.reject(deathError());
      return new Promise<MqttMessage>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = messages.map((m) => m.topic).join(', ') || 'none';
          reject(new Error(`mosquitto_sub: no matching message within ${timeoutMs} ms (received topics: ${seen})`));
        }, timeoutMs);
        const waiter: Waiter = {
          predicate,
          resolve: (message) => {
            clearTimeout(timer);
            resolve(message);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        waiters.add(waiter);
      });
    },
    async stop() {
      stopping = true;
      await stopChild(child);
    },
  };
}
