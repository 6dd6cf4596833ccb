/** The IPC between the gateway and its Node-RED child: JSON messages over the fork channel. */

/** What the runner needs from the gateway; secrets travel here, never in the child's environment. */
export interface RunnerStart {
  readonly type: 'start';
  readonly userDir: string;
  readonly flowFile: string;
  readonly nodesDir: readonly string[];
  /** Key of the editor tokens the gateway's proxy mints (base64). */
  readonly tokenKey: string;
  readonly credentialSecret: string | undefined;
  /** Start with the flows stopped (after repeated failed runs). */
  readonly safeMode: boolean;
  readonly heartbeatMs: number;
  readonly logLevel: 'error' | 'warn' | 'info' | 'debug';
}

export type ParentMessage = RunnerStart;

export type ChildLogLevel = 'error' | 'warn' | 'info' | 'debug';

export type ChildMessage =
  /** The event loop turned over: sent from a setInterval, so a busy loop stops it. */
  | { readonly type: 'tick' }
  | { readonly type: 'log'; readonly level: ChildLogLevel; readonly msg: string; readonly fields: Readonly<Record<string, string>> }
  /** Node-RED runs and its admin API listens on `port` of 127.0.0.1 (the editor can be proxied). */
  | { readonly type: 'listening'; readonly port: number }
  /** Flows were started (at start-up or after a deploy); `rev` is Node-RED's revision of them (sha256 of their JSON). */
  | { readonly type: 'flows-started'; readonly rev: string }
  /** Node-RED could not start; the child exits after sending this. */
  | { readonly type: 'failed'; readonly error: string };

export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

export function isParentMessage(value: unknown): value is ParentMessage {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'start';
}
