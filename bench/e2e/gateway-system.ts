/**
 * The gateway as it is deployed: built to plain JS (`tsc -p tsconfig.build.json` → dist/) and run as
 * `node dist/gateway/main.js --config FILE`, with its MQTT listener on a free loopback port, InfluxDB output, the
 * upstream bridge to a real Mosquitto, the five rules, and no devices of its own.
 */
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { hashPassword } from '../../gateway/broker/password.js';
import { EVENT_LOOP_SAMPLE_MS } from '../../gateway/http/metrics.js';
import { NODE_FLAGS } from '../../gateway/runtime-flags.js';
import { startMosquitto } from '../../test/peers/mosquitto.js';
import { freePort } from '../../test/peers/net.js';
import { stopChild } from '../../test/peers/process.js';
import { Cleanup } from './cleanup.js';
import { BRIDGE_INFLIGHT, LogTail, mosquittoProblems, UPSTREAM_MOSQUITTO, type System } from './system.js';
import { PREFIX, rules, SITE } from './workload.js';

const USER = 'bench-load';
const PASSWORD = 'bench-load-password';
/** The gateway logs at warn: the alerts the load trips and its devices going offline when it disconnects are no complaints. */
const EXPECTED_LOG = /"device offline"|"alert (firing|resolved)"/;

let built: Promise<void> | undefined;

/** Compiles the gateway once per bench process. */
export function buildGateway(): Promise<void> {
  return (built ??= promisify(execFile)(resolve('node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json']).then(() => undefined));
}


interface Ports {
  readonly mqtt: number;
  readonly http: number;
  readonly upstream: number;
}

function configYaml(dataDir: string, ports: Ports, passwordHash: string, metricsToken: string, influxUrl: string, database: string): string {
  const ruleLines = rules.map((rule) => {
    const condition = rule.above !== undefined ? `above: ${rule.above}` : `below: ${rule.below}`;
    return `  - { name: ${rule.name}, match: { metric: flow }, ${condition}, clear: ${rule.clear}, severity: ${rule.severity} }`;
  });
  return `site: ${SITE}
data_dir: ${dataDir}
log: { level: warn }
mqtt:
  prefix: ${PREFIX}
  listeners: [{ type: tcp, host: 127.0.0.1, port: ${ports.mqtt} }]
  users:
    - { username: ${USER}, role: internal, password_hash: "${passwordHash}" }
  limits: { publish_rate: 10000000, publish_burst: 10000000 }
# As in production, on a free port; the bench reads the gateway's own event-loop lag from /metrics.
http: { listen: { port: ${ports.http} }, metrics_token: ${metricsToken} }
influx:
  url: ${influxUrl}
  api: v1
  database: ${database}
  create_database: true
  # The load's last partial batch should not wait the default second: it would count as end-to-end time.
  flush_interval: 100ms
bridge:
  url: mqtt://127.0.0.1:${ports.upstream}
  client_id: gw-bench
  inflight: ${BRIDGE_INFLIGHT}
rules:
${ruleLines.join('\n')}
`;
}

/**
 * The gateway runs with its heap settings (NODE_FLAGS), as deployed. E2E_GATEWAY_FLAGS: more node flags for it, e.g.
 * `--cpu-prof --cpu-prof-dir=prof` to profile it under the load; E2E_GATEWAY_OUTPUT: a file the gateway's output is
 * appended to (with `--trace-gc`, say).
 */
function nodeFlags(): string[] {
  return (process.env.E2E_GATEWAY_FLAGS ?? '').split(/\s+/).filter(Boolean);
}

export async function startGatewaySystem(influxUrl: string, database: string): Promise<System> {
  await buildGateway();
  const cleanup = new Cleanup();
  try {
    const dir = cleanup.add(mkdtempSync(join(tmpdir(), 'gw-bench-e2e-')), 'temp dir', (d) => rmSync(d, { recursive: true, force: true }));
    const upstream = cleanup.add(await startMosquitto({ extraConfig: UPSTREAM_MOSQUITTO }), 'upstream Mosquitto', (m) => m.stop());
    const ports = { mqtt: await freePort(), http: await freePort(), upstream: upstream.port };
    const metricsToken = randomBytes(16).toString('hex');
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, configYaml(join(dir, 'data'), ports, await hashPassword(PASSWORD, { ln: 10 }), metricsToken, influxUrl, database));
    // Before the gateway: cleanup runs backwards, so the copy ends after the gateway has said its last.
    const copy = process.env.E2E_GATEWAY_OUTPUT ? createWriteStream(process.env.E2E_GATEWAY_OUTPUT, { flags: 'a' }) : undefined;
    if (copy) cleanup.add(copy, 'gateway output copy', (stream) => new Promise<void>((resolve) => stream.end(resolve)));
    const gateway = spawn(process.execPath, [...NODE_FLAGS, ...nodeFlags(), resolve('dist', 'gateway', 'main.js'), '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.add(gateway, 'gateway', (child) => stopChild(child, 'SIGTERM', 15_000));
    const log = new LogTail('gateway', EXPECTED_LOG);
    for (const stream of [gateway.stdout, gateway.stderr]) stream.setEncoding('utf8').on('data', (chunk: string) => (copy?.write(chunk), log.push(chunk)));
    return {
      name: 'gateway',
      login: { port: ports.mqtt, username: USER, password: PASSWORD },
      brokerPort: ports.mqtt,
      upstreamPort: upstream.port,
      database,
      processes: [{ name: 'gateway', pid: gateway.pid ?? 0 }],
      eventLoopLagP99Ms: () => scrapeEventLoopLagP99(ports.http, metricsToken),
      problems: () => [...log.summary(), ...mosquittoProblems('upstream Mosquitto', upstream), ...(gateway.exitCode !== null ? [`the gateway exited with code ${gateway.exitCode}`] : [])],
      stop: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}

/**
 * The gateway's `nodejs_eventloop_lag_p99_seconds` in ms past the timer that measures it (EVENT_LOOP_SAMPLE_MS), from
 * its /metrics: prom-client resets it on each scrape.
 */
async function scrapeEventLoopLagP99(port: number, token: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`gateway /metrics answered ${response.status}`);
  const match = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(await response.text());
  if (!match) throw new Error('gateway /metrics has no nodejs_eventloop_lag_p99_seconds');
  return Math.max(0, Number(match[1]) * 1000 - EVENT_LOOP_SAMPLE_MS);
}
