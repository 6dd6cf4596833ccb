/**
 * The Node-RED child's entry (forked by host.ts): embeds Node-RED with settings from the gateway, reports its event
 * loop by a tick every heartbeat interval, forwards its log and tells when flows have started. Secrets (the editor
 * token key, the credential secret) arrive over IPC, so a flow reading `process.env` finds none of them.
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { EDITOR_TOKEN_HEADER, verifyEditorToken } from './editor-token.js';
import { isParentMessage, type ChildLogLevel, type ChildMessage, type RunnerStart } from './messages.js';

const require = createRequire(import.meta.url);

/** The parts of Node-RED's embedding API this runner uses (node-red ships no types). */
interface NodeRed {
  init(server: ReturnType<typeof createServer>, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly httpAdmin: (req: unknown, res: unknown, next: () => void) => void;
  readonly events: { on(event: 'flows:started', listener: (started: FlowsStarted) => void): void };
}

/** What Node-RED's flows:started event carries: the started config with its revision (sha256 of the flows' JSON). */
interface FlowsStarted {
  readonly config: { readonly rev: string };
}

/** Node-RED's numeric log levels (fatal 10 ... trace 60; audit 98 and metric 99 are not forwarded). */
const levels: Record<number, ChildLogLevel> = { 10: 'error', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'debug' };

function send(message: ChildMessage): void {
  // The channel is gone only when the gateway is: the disconnect handler below ends this process then.
  if (process.connected) process.send?.(message);
}

function run(start: RunnerStart): void {
  const key = Buffer.from(start.tokenKey, 'base64');
  const heartbeat = setInterval(() => send({ type: 'tick' }), start.heartbeatMs);
  heartbeat.unref();
  send({ type: 'tick' });

  const RED = require('node-red') as NodeRed;
  // Express is Node-RED's own dependency: resolved from its folder, not ours.
  const express = createRequire(require.resolve('node-red'))('express') as () => ((req: unknown, res: unknown) => void) & { use(path: string, handler: unknown): void };
  const app = express();
  const server = createServer(app);
  RED.init(server, {
    userDir: start.userDir,
    flowFile: start.flowFile,
    nodesDir: start.nodesDir,
    ...(start.credentialSecret === undefined ? {} : { credentialSecret: start.credentialSecret }),
    // The child listens on a port the kernel picks on loopback, known to the gateway's proxy only.
    uiHost: '127.0.0.1',
    uiPort: 0,
    httpAdminRoot: '/red/',
    // Flows' own HTTP endpoints (http in) are not served: the gateway exposes nothing it does not guard.
    httpNodeRoot: false,
    safeMode: start.safeMode,
    adminAuth: {
      type: 'credentials',
      // No password list here: the gateway logs people in and vouches for each request with a signed token.
      users: [],
      tokens: (token: string) => Promise.resolve(verifyEditorToken(key, token) ?? null),
      tokenHeader: EDITOR_TOKEN_HEADER,
    },
    logging: {
      gateway: {
        level: start.logLevel,
        metrics: false,
        audit: false,
        handler: () => (entry: { level: number; msg: unknown; type?: string; name?: string; id?: string }) => {
          const level = levels[entry.level];
          if (!level) return;
          const fields: Record<string, string> = {};
          if (entry.type) fields.node_type = entry.type;
          if (entry.name) fields.node_name = entry.name;
          if (entry.id) fields.node = entry.id;
          send({ type: 'log', level, msg: entry.msg instanceof Error ? entry.msg.message : String(entry.msg), fields });
        },
      },
    },
    // A box on a pole has no internet and must not change under the operators' feet: no palette installs, no
    // npm modules in function nodes, no update checks, no tours.
    externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false }, modules: { allowInstall: false } },
    functionExternalModules: false,
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    editorTheme: {
      page: { title: 'City edge gateway · flows' },
      header: { title: 'City edge gateway · flows' },
      tours: false,
      projects: { enabled: false },
    },
  });
  app.use('/red/', RED.httpAdmin);
  RED.events.on('flows:started', (started) => send({ type: 'flows-started', rev: started.config.rev }));
  server.on('error', (error) => fail(error));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    RED.start().then(
      () => send({ type: 'listening', port }),
      (error: unknown) => fail(error),
    );
  });
  process.once('SIGTERM', () => {
    RED.stop().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  });
}

function fail(error: unknown): void {
  send({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  // Let the message leave before the process does.
  setImmediate(() => process.exit(1));
}

// Embedded Node-RED installs no handler of its own: whatever a node throws ends this child, never the gateway, and the
// gateway's supervisor starts a fresh one.
process.on('uncaughtException', (error) => fail(error));
process.on('unhandledRejection', (error) => fail(error));
// The gateway went away (even by SIGKILL): a child of nobody must not keep running flows.
process.on('disconnect', () => process.exit(0));
process.once('message', (message: unknown) => {
  if (isParentMessage(message)) run(message);
  else fail(new Error('the first message from the gateway was not a start message'));
});
