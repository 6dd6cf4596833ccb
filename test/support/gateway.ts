import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../gateway/config-file/load.js';
import { Gateway } from '../../gateway/gateway.js';
import type { Sink } from '../../gateway/pipeline/sink.js';
import { createLogger } from '../../gateway/util/log.js';

export interface RunningGateway {
  readonly gateway: Gateway;
  /** The temp dir holding its config file (and its data dir, `data/`). */
  readonly dir: string;
  /** The embedded broker's TCP port. */
  readonly mqttPort: number;
  /** Every log line the gateway wrote. */
  readonly logs: string[];
  stop(): Promise<void>;
}

/**
 * Starts a gateway in this process from YAML text (the MQTT listener and the HTTP server on free ports unless the YAML
 * says otherwise), with the project's profiles available under `profiles/`. `sinks` are consumers of readings besides
 * the configured ones.
 */
export async function startGateway(yaml: string, opts: { dir?: string; sinks?: readonly Sink[] } = {}): Promise<RunningGateway> {
  // A given dir is one an earlier gateway of the test ran in (a restart): its data dir is reused.
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'gw-test-'));
  if (!opts.dir) symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
  const file = join(dir, 'gateway.yaml');
  const withMqtt = yaml.includes('mqtt:') ? yaml : `${yaml}\nmqtt:\n  listeners: [{ host: 127.0.0.1, port: 0 }]\n`;
  writeFileSync(file, /^http:/m.test(withMqtt) ? withMqtt : `${withMqtt}\nhttp:\n  listen: { port: 0 }\n`);
  const logs: string[] = [];
  const gateway = new Gateway(loadConfig(file, {}), createLogger({ level: 'debug', sink: { write: (line) => logs.push(line) } }), opts.sinks);
  try {
    await gateway.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    gateway,
    dir,
    mqttPort: gateway.mqttListeners[0]!.port,
    logs,
    async stop() {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
