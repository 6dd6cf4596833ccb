/**
 * The peer pipeline: Mosquitto 2.0 (Debian) + Node-RED 4.1 with node-red-contrib-influxdb, each a process of its own.
 * Node-RED is installed by the bench with npm into a cache folder (not the repo, not a dependency of the project) and
 * reused from there; it runs with a temp user dir holding the flow, and no editor (admin API and UI off).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { InfluxDb1 } from '../../test/peers/influxdb.js';
import { startMosquitto } from '../../test/peers/mosquitto.js';
import { stopChild } from '../../test/peers/process.js';
import { Cleanup } from './cleanup.js';
import { peerFlows } from './node-red-flow.js';
import { BRIDGE_INFLIGHT, LogTail, mosquittoProblems, quietMosquitto, UPSTREAM_MOSQUITTO, type System } from './system.js';
import { DOMAIN, PROBE_DOMAIN, topics } from './workload.js';

/** Node-RED's start-up notes for a user dir without projects or a credential secret: no complaints here. */
const EXPECTED_LOG = /Projects disabled|unencrypted credentials/;

const PACKAGES = ['node-red@4.1', 'node-red-contrib-influxdb@0.7'];

export function nodeRedCache(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'city-gateway-bench', 'node-red-4.1');
}

/** Installs Node-RED and the InfluxDB nodes into the cache folder, unless they are there already; returns red.js. */
export async function installNodeRed(): Promise<string> {
  const dir = nodeRedCache();
  const red = join(dir, 'node_modules', 'node-red', 'red.js');
  if (existsSync(red) && existsSync(join(dir, 'node_modules', 'node-red-contrib-influxdb', 'package.json'))) return red;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'city-gateway-bench-node-red', private: true }));
  console.error(`bench: installing ${PACKAGES.join(', ')} into ${dir} (once)`);
  await promisify(execFile)('npm', ['install', '--no-fund', '--no-audit', '--omit=dev', ...PACKAGES], { cwd: dir, maxBuffer: 16 * 1024 ** 2 });
  return red;
}

/**
 * Mosquitto as the operator would tune it for this: no cap on a subscriber's queue (its default of 1,000 messages made
 * it drop a fifth of a QoS 0 burst on its way to Node-RED), so the figures are the pipeline's, not a default's. And
 * its own bridge to the city platform, as the gateway has one: the normalised readings and the alert events go up at
 * QoS 1, as the gateway's bridge sends them (in C, in the broker: the cheapest bridge the peer could have).
 */
function peerMosquitto(upstreamPort: number): string[] {
  return [
    ...quietMosquitto(),
    'max_queued_messages 0',
    // The bridge's window, as the gateway's (it is global: Node-RED's QoS 1 subscription gets it too).
    `max_inflight_messages ${BRIDGE_INFLIGHT}`,
    'connection city-platform',
    `address 127.0.0.1:${upstreamPort}`,
    'bridge_protocol_version mqttv311',
    'cleansession true',
    'try_private false',
    'notifications false',
    `topic ${topics.reading(DOMAIN, '+', '+')} out 1`,
    `topic ${topics.reading(PROBE_DOMAIN, '+', '+')} out 1`,
    `topic ${topics.alertEvents} out 1`,
  ];
}

export async function startNodeRedSystem(influx: InfluxDb1, database: string): Promise<System> {
  const red = await installNodeRed();
  const cleanup = new Cleanup();
  try {
    await influx.createDatabase(database);
    const upstream = cleanup.add(await startMosquitto({ extraConfig: UPSTREAM_MOSQUITTO }), 'upstream Mosquitto', (m) => m.stop());
    const mosquitto = cleanup.add(await startMosquitto({ extraConfig: peerMosquitto(upstream.port) }), 'Mosquitto', (m) => m.stop());
    const userDir = cleanup.add(mkdtempSync(join(tmpdir(), 'gw-bench-node-red-')), 'Node-RED user dir', (d) => rmSync(d, { recursive: true, force: true }));
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(peerFlows(mosquitto.port, influx.port, database)));
    writeFileSync(
      join(userDir, 'settings.js'),
      `module.exports = { flowFile: 'flows.json', uiHost: '127.0.0.1', uiPort: 0, httpAdminRoot: false, httpNodeRoot: false, credentialSecret: false, logging: { console: { level: 'warn' } } };\n`,
    );
    const nodeRed = spawn(process.execPath, [red, '--settings', join(userDir, 'settings.js'), '--userDir', userDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.add(nodeRed, 'Node-RED', (child) => stopChild(child, 'SIGTERM', 10_000));
    const log = new LogTail('Node-RED', EXPECTED_LOG);
    for (const stream of [nodeRed.stdout, nodeRed.stderr]) stream.setEncoding('utf8').on('data', (chunk: string) => log.push(chunk));
    return {
      name: 'Mosquitto + Node-RED',
      login: { port: mosquitto.port },
      brokerPort: mosquitto.port,
      upstreamPort: upstream.port,
      database,
      processes: [
        { name: 'mosquitto', pid: mosquitto.pid },
        { name: 'node-red', pid: nodeRed.pid ?? 0 },
      ],
      problems: () => [...log.summary(), ...mosquittoProblems('Mosquitto', mosquitto), ...mosquittoProblems('upstream Mosquitto', upstream), ...(nodeRed.exitCode !== null ? [`Node-RED exited with code ${nodeRed.exitCode}`] : [])],
      stop: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}
