import type { Gateway } from '../../gateway/gateway.js';
import type { NodeRedHealth } from '../../gateway/node-red/host.js';
import { waitFor } from '../peers/net.js';
import { httpCall, type HttpAnswer } from './http-client.js';

/**
 * The `node_red:` section of a test gateway: on, with heartbeat and restart timings short enough for tests. The
 * timeout leaves Node-RED (at nice +10) room to deploy on a loaded 2-core box without being taken for stuck.
 */
export function nodeRedSection(overrides: Readonly<Record<string, string>> = {}): string {
  const settings = { enabled: 'true', heartbeat: '{ interval: 200ms, timeout: 3s }', restart: '{ initial: 200ms, max: 1s }', ...overrides };
  return `node_red:\n${Object.entries(settings)
    .map(([key, value]) => `  ${key}: ${value}\n`)
    .join('')}`;
}

/** The Node-RED part of the gateway's health (undefined when node_red is off). */
export function nodeRedHealth(gateway: Gateway): NodeRedHealth | undefined {
  return gateway.health().nodeRed;
}

/** Waits until Node-RED has run its flows and its editor answers through the gateway. */
export async function nodeRedReady(gateway: Gateway, opts: { timeoutMs?: number } = {}): Promise<NodeRedHealth> {
  return waitFor(
    () => {
      const health = nodeRedHealth(gateway);
      return health?.state === 'running' && gateway.health().nodeRed?.pid !== undefined ? health : undefined;
    },
    { what: 'Node-RED running', timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: 50 },
  );
}

/** Deploys a whole flow list through the gateway's /red/ proxy, as the editor's Deploy button does. */
export function deployFlows(base: string, auth: Record<string, string>, flows: readonly object[]): Promise<HttpAnswer> {
  return httpCall(`${base}/red/flows`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'node-red-api-version': 'v1', 'node-red-deployment-type': 'full' },
    body: JSON.stringify(flows),
  });
}

/** A tab with a plain MQTT broker config node for the embedded broker, as an operator would wire one by hand. */
export function brokerNode(id: string, port: number, login: { username: string; password: string }): object {
  return { id, type: 'mqtt-broker', name: 'gateway', broker: '127.0.0.1', port: String(port), clientid: '', usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true, autoConnect: true, credentials: { user: login.username, password: login.password } };
}

/** An inject every `everyS` seconds into a function whose body is `func`. */
export function injectInto(tab: string, func: string, opts: { everyS: number; wires: string[] }): object[] {
  return [
    { id: `${tab}-inject`, type: 'inject', z: tab, props: [{ p: 'payload' }], repeat: String(opts.everyS), once: true, onceDelay: '0.1', payload: '', payloadType: 'date', wires: [[`${tab}-fn`]] },
    { id: `${tab}-fn`, type: 'function', z: tab, func, outputs: 1, wires: [opts.wires] },
  ];
}

/** A flow whose function node never returns: an operator's `while(true){}`. */
export function busyLoopFlow(): object[] {
  return [{ id: 'busy', type: 'tab', label: 'busy loop' }, ...injectInto('busy', 'while (true) {}', { everyS: 0, wires: [] })];
}

/** A flow that grows an array until the heap cap is hit: an operator's memory leak. */
export function memoryBlowUpFlow(): object[] {
  return [
    { id: 'hog', type: 'tab', label: 'memory hog' },
    ...injectInto('hog', 'const hoard = context.get("hoard") || []; context.set("hoard", hoard); for (let i = 0; i < 200000; i++) hoard.push({ i, s: "x".repeat(64) + i }); return null;', { everyS: 0.05, wires: [] }),
  ];
}
