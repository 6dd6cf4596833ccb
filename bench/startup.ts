/**
 * Start-up: time from spawning the gateway process to the first reading on MQTT, on the simulated district of
 * config/default.yaml (its ports moved to free ones, no InfluxDB answering), as an operator starts it:
 *  - built: `node dist/gateway/main.js` (what production runs; the goal is ≤ 2 s on a 2-core box);
 *  - built after an up-to-date check of the build (`tsc -b tsconfig.build.json` with nothing changed), the way a
 *    `prestart` keeps `npm start` honest;
 *  - `npm start`, whatever package.json makes of it;
 *  - from source through tsx (`node --import tsx gateway/main.ts`), for comparison.
 * Each is run BENCH_STARTUP_RUNS times (default 7); min, median and max are printed. The build is made first.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../test/peers/net.js';
import { exitOf, isRunning, stopChild } from '../test/peers/process.js';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 7);
const TSC = resolve('node_modules', '.bin', 'tsc');

interface Variant {
  readonly name: string;
  /** Runs before the gateway is spawned, inside the timed span (the build check of `npm start`). */
  readonly before?: readonly string[];
  readonly command: readonly string[];
  /** npm runs the gateway as its child: the whole process group is signalled, so no gateway is left behind. */
  readonly group?: boolean;
}

const variants: readonly Variant[] = [
  { name: 'built (node dist/gateway/main.js)', command: [process.execPath, 'dist/gateway/main.js'] },
  { name: 'build check + built', before: [TSC, '-b', 'tsconfig.build.json'], command: [process.execPath, 'dist/gateway/main.js'] },
  { name: 'npm start', command: ['npm', 'start', '--silent', '--'], group: true },
  { name: 'source through tsx', command: [process.execPath, '--import', 'tsx', 'gateway/main.ts'] },
];

/** The default config in a temp dir, on free ports, its buffer inside the dir. */
async function districtConfig(dir: string): Promise<{ file: string; mqttPort: number }> {
  symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
  const mqttPort = await freePort();
  let yaml = readFileSync('config/default.yaml', 'utf8')
    .replace('port: 1883', `port: ${mqttPort}`)
    .replace('data_dir: ../data', 'data_dir: data')
    .replace('${INFLUX_URL:-http://127.0.0.1:8086}', `http://127.0.0.1:${await freePort()}`);
  for (const simulated of [15020, 15021, 15022]) yaml = yaml.replaceAll(`port: ${simulated}`, `port: ${await freePort()}`);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  return { file, mqttPort };
}

/** Resolves with the time of the first reading (a topic of a domain, not a status) on the gateway's broker. */
function firstReading(port: number, signal: AbortSignal): Promise<number> {
  return new Promise((resolveAt, reject) => {
    // The broker is not up yet: the client tries again every 10 ms until it is.
    const client = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 10, connectTimeout: 5_000 });
    const done = (settle: () => void): void => {
      client.end(true);
      settle();
    };
    client.on('error', () => undefined);
    client.on('connect', () => void client.subscribe(['city/+/water/#', 'city/+/traffic/#', 'city/+/energy/#']));
    client.on('message', () => {
      const at = performance.now();
      done(() => resolveAt(at));
    });
    signal.addEventListener('abort', () => done(() => reject(new Error('no reading within the bound'))));
  });
}

async function once(variant: Variant): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-startup-'));
  try {
    const { file, mqttPort } = await districtConfig(dir);
    const bound = AbortSignal.timeout(30_000);
    const reading = firstReading(mqttPort, bound);
    // Settled either way below; a late rejection (the gateway exited first) is not left unhandled.
    reading.catch(() => undefined);
    const started = performance.now();
    if (variant.before) execFileSync(variant.before[0]!, variant.before.slice(1), { stdio: 'ignore' });
    const [command, ...args] = variant.command;
    const child = spawn(command!, [...args, '--config', file], { stdio: 'ignore', detached: variant.group === true });
    try {
      const first = await Promise.race([reading, exitOf(child)]);
      if (typeof first !== 'number') throw new Error(`the gateway exited with ${String(first.code ?? first.signal)} before its first reading`);
      return first - started;
    } finally {
      if (variant.group && isRunning(child)) process.kill(-child.pid!, 'SIGTERM');
      await stopChild(child, 'SIGTERM');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function summary(name: string, times: readonly number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const ms = (t: number) => `${(t / 1000).toFixed(2)} s`;
  return `  ${name.padEnd(36)} min ${ms(sorted[0]!)}  median ${ms(sorted[Math.floor(sorted.length / 2)]!)}  max ${ms(sorted.at(-1)!)}`;
}

export async function startupReport(): Promise<string> {
  execFileSync(TSC, ['-b', 'tsconfig.build.json'], { stdio: 'inherit' });
  const lines = [`Start-up: process spawn to the first reading on MQTT, simulated district, ${RUNS} runs each`];
  for (const variant of variants) {
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) times.push(await once(variant));
    lines.push(summary(variant.name, times));
  }
  return lines.join('\n');
}
