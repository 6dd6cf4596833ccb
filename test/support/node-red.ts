/**
 * node-red-node-test-helper on a real Node-RED runtime, with the gateway's node package
 * (flows/node-red-contrib-city-gateway) and the core nodes the shipped flows use. Both are CommonJS outside the
 * TypeScript project: they are loaded with require, typed here as far as the tests use them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { waitFor } from '../peers/net.js';

const require = createRequire(import.meta.url);

export type FlowNode = Record<string, unknown> & { id: string; type: string };
export type NodeMessage = Record<string, unknown> & { payload?: unknown; topic?: string };
type NodeModule = (red: unknown) => void;

export interface NodeStatusShown {
  fill?: string;
  shape?: string;
  text?: string;
}

/** A running node as the tests touch it (a Node-RED Node). */
export interface RunningNode {
  receive(msg: NodeMessage): void;
  on(event: 'input', listener: (msg: NodeMessage) => void): void;
  on(event: 'call:status', listener: (call: { args: [NodeStatusShown] }) => void): void;
  on(event: 'call:error', listener: (call: { args: [unknown, NodeMessage?] }) => void): void;
  counts?: Record<string, number>;
}

interface TestHelper {
  init(runtimePath: string, userSettings?: Record<string, unknown>): void;
  load(nodes: NodeModule[], flow: FlowNode[], credentials?: Record<string, Record<string, string>>): Promise<void>;
  unload(): Promise<void>;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  getNode(id: string): RunningNode | null;
}

const packageDir = resolve('flows', 'node-red-contrib-city-gateway');

/** The gateway's nodes, as Node-RED would load them from the package's "node-red" section. */
export function gatewayNodeModules(): NodeModule[] {
  const manifest = JSON.parse(readFileSync(resolve(packageDir, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  return Object.values(manifest['node-red'].nodes).map((file) => require(resolve(packageDir, file)) as NodeModule);
}

/** Core nodes by type, for the shipped flows. */
export const coreNodeModules: Record<string, NodeModule> = {
  comment: require('@node-red/nodes/core/common/90-comment.js') as NodeModule,
  function: require('@node-red/nodes/core/function/10-function.js') as NodeModule,
  'http request': require('@node-red/nodes/core/network/21-httprequest.js') as NodeModule,
};

let helper: TestHelper | undefined;

/** A shipped flow (flows/shipped/{name}.json), as Node-RED's export format holds it. */
export function shippedFlow(name: string): FlowNode[] {
  return JSON.parse(readFileSync(resolve('flows', 'shipped', `${name}.json`), 'utf8')) as FlowNode[];
}

/** The helper, started on a real Node-RED runtime (once per test file). */
export async function nodeRedHelper(): Promise<TestHelper> {
  if (helper === undefined) {
    const created = require('node-red-node-test-helper') as TestHelper;
    created.init(require.resolve('node-red'));
    await created.startServer();
    helper = created;
  }
  return helper;
}

export async function stopNodeRedHelper(): Promise<void> {
  await helper?.unload();
  await helper?.stopServer();
  helper = undefined;
}

/**
 * The nodes on a tab of their own, as the editor exports them. Without x/y/z, Node-RED takes every node for a config
 * node, and one whose id equals another's property value (`source: 'events'`) for a reference to it.
 */
export function onTab(nodes: FlowNode[], configTypes: readonly string[] = ['gateway-broker']): FlowNode[] {
  const placed = nodes.map((node, index) => (configTypes.includes(node.type) ? node : { ...node, z: 'tab', x: 100, y: 40 * (index + 1) }));
  return [{ id: 'tab', type: 'tab', label: 'test' }, ...placed];
}

/** The node, once the runtime has it. */
export function nodeOf(h: TestHelper, id: string): RunningNode {
  const node = h.getNode(id);
  if (node === null) throw new Error(`no node ${id} in the loaded flow`);
  return node;
}

/** Records what a node receives (a `helper` node at the end of a wire), what it shows and what it raises. */
export class Recorder {
  readonly messages: NodeMessage[] = [];

  constructor(node: RunningNode) {
    node.on('input', (msg) => this.messages.push(msg));
  }

  /** The first message, received or to come, that satisfies `predicate`. */
  next(predicate: (msg: NodeMessage) => boolean = () => true, timeoutMs = 20_000): Promise<NodeMessage> {
    return waitFor(() => this.messages.find(predicate), { timeoutMs, what: 'a matching Node-RED message' });
  }
}

/** The statuses a node showed, in order. */
export function statusesOf(node: RunningNode): NodeStatusShown[] {
  const shown: NodeStatusShown[] = [];
  node.on('call:status', (call) => shown.push(call.args[0]));
  return shown;
}

/**
 * Waits until every subscription of a gateway-broker config node is granted by the broker, so a publish that follows
 * reaches the flow.
 */
export async function subscribed(h: TestHelper, brokerId: string): Promise<void> {
  const broker = h.getNode(brokerId) as unknown as { connection: { subscriptions: Map<string, { ready: Promise<void> }> } } | null;
  if (broker === null) throw new Error(`no gateway-broker ${brokerId}`);
  await Promise.all([...broker.connection.subscriptions.values()].map((entry) => entry.ready));
}
