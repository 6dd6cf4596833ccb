/**
 * Node-RED beside the data path: reading → alert p99 with Node-RED idle and with an operator's flow stuck in
 * `while(true){}` (the supervisor's heartbeat timeout is raised so the loop lasts the whole run), the resident memory
 * of the gateway and of the Node-RED child, and the time from the gateway's start to Node-RED's flows running.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hashPassword } from '../gateway/broker/password.js';
import { loadConfig } from '../gateway/config-file/load.js';
import { Gateway } from '../gateway/gateway.js';
import { silentLogger } from '../gateway/util/log.js';
import { waitFor } from '../test/peers/net.js';
import { alertLatencyProbe, PROBE_RULE, type AlertLatencies } from '../test/support/alert-latency.js';
import { basicAuth } from '../test/support/http-client.js';
import { busyLoopFlow, deployFlows, nodeRedHealth } from '../test/support/node-red-child.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PERIOD_MS = 10;

export async function nodeRedReport(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-node-red-'));
  symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `site: bench
mqtt:
  listeners: [{ host: 127.0.0.1, port: 0 }]
  users: [{ username: olga, role: operator, password_hash: "${await hashPassword('olga-secret', { ln: 10 })}" }]
http:
  listen: { port: 0 }
node_red:
  enabled: true
  heartbeat: { interval: 1s, timeout: 10m }
rules:
${PROBE_RULE}`,
  );
  const gateway = new Gateway(loadConfig(file, {}), silentLogger);
  const started = performance.now();
  await gateway.start();
  const startMs = performance.now() - started;
  try {
    const firstFlows = await waitFor(() => nodeRedHealth(gateway)?.firstFlowsMs, { what: 'Node-RED flows running', timeoutMs: 120_000 });
    await waitFor(() => (nodeRedHealth(gateway)?.state === 'running' && nodeRedHealth(gateway)?.rssBytes !== undefined ? true : undefined), { what: 'Node-RED running', timeoutMs: 60_000 });
    const idle = await alertLatencyProbe(gateway, { durationMs: SECONDS * 1000, periodMs: PERIOD_MS });
    const rssIdle = { gateway: process.memoryUsage().rss, child: nodeRedHealth(gateway)!.rssBytes! };

    const deployed = await deployFlows(gateway.httpAddress!.url, basicAuth('olga', 'olga-secret'), busyLoopFlow());
    if (deployed.status !== 204) throw new Error(`deploy refused: ${deployed.status} ${deployed.body}`);
    await waitFor(() => ((nodeRedHealth(gateway)?.heartbeatAgeMs ?? 0) > 2000 ? true : undefined), { what: 'Node-RED stuck in the loop', timeoutMs: 30_000 });
    const busy = await alertLatencyProbe(gateway, { durationMs: SECONDS * 1000, periodMs: PERIOD_MS });

    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
    const line = (name: string, l: AlertLatencies) => `  ${name}: ${l.samples.length} alerts, p50 ${l.at(0.5).toFixed(2)} ms, p99 ${l.at(0.99).toFixed(2)} ms, max ${l.at(1).toFixed(2)} ms`;
    return [
      `node-red: reading → alert latency (a reading every ${PERIOD_MS} ms, each one firing or resolving an alert, ${SECONDS} s each)`,
      line('Node-RED idle', idle),
      line('Node-RED in while(true){}', busy),
      `  resident memory: gateway ${mb(rssIdle.gateway)}, Node-RED child ${mb(rssIdle.child)}`,
      `  gateway start() ${startMs.toFixed(0)} ms (Node-RED launched at its end); Node-RED's flows running ${firstFlows} ms after the launch`,
    ].join('\n');
  } finally {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
