/**
 * The status page (`npm run bench -- page`), in Debian Chromium driven by playwright-core, against the built gateway
 * (`node dist/gateway/main.js`) on the simulated district of config/default.yaml (ports moved to free ones, no
 * InfluxDB section):
 *  - page weight: bytes Chromium received for the first load of `/` with an empty cache (its network events: headers
 *    and bodies as they came over the wire, gzip where the gateway compresses), until the network is idle;
 *  - first paint and first contentful paint of that load (Performance API);
 *  - the gateway's CPU (from /proc) while the district and an MQTT load of 10k readings/s (100 devices, paced, from a
 *    process of its own) run: with no page open, with 5 pages open, and with none again, each for BENCH_SECONDS.
 * The goal: 5 pages cost the gateway < 5% of a core.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { hashPassword } from '../gateway/broker/password.js';
import { freePort, waitFor } from '../test/peers/net.js';
import { stopChild } from '../test/peers/process.js';
import { logIn, openBrowser, type Browser } from '../test/support/browser.js';
import { Cleanup } from './e2e/cleanup.js';
import { buildGateway } from './e2e/gateway-system.js';
import { LoadGenerator } from './e2e/load.js';
import { DOMAIN, SITE } from './e2e/workload.js';
import { cpuSeconds } from './proc.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RATE = 10_000;
const PAGES = 5;
const STAFF = 'duty-officer';
const STAFF_PASSWORD = 'duty-officer-password';
const LOAD_USER = 'bench-load';
const LOAD_PASSWORD = 'bench-load-password';
/** Time for a phase's start (pages connecting, the first charts) to pass before its CPU is counted. */
const SETTLE_MS = 2000;
/** The gateway's first seconds under load (JIT, buffers growing) are no phase of the comparison. */
const WARMUP_MS = 5000;
/** For Prometheus-style reads of what the gateway took in, so each phase states the rate it really had. */
const METRICS_TOKEN = 'bench-page-metrics-token-0123456789';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** config/default.yaml on free ports, logging warnings only, with the users and the HTTP server of this bench. */
async function districtConfig(dir: string): Promise<{ file: string; mqttPort: number; httpPort: number }> {
  symlinkSync(resolve('config', 'profiles'), join(dir, 'profiles'));
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const users = `  users:
    - { username: ${STAFF}, role: staff, password_hash: "${await hashPassword(STAFF_PASSWORD, { ln: 10 })}" }
    - { username: ${LOAD_USER}, role: internal, password_hash: "${await hashPassword(LOAD_PASSWORD, { ln: 10 })}" }
  limits: { publish_rate: 10000000, publish_burst: 10000000 }
`;
  let yaml = readFileSync('config/default.yaml', 'utf8')
    // The load publishes on the ingest topics of the e2e workload's site.
    .replace('site: district-7', `site: ${SITE}`)
    .replace('level: info', 'level: warn')
    .replace('port: 1883 }\n', `port: ${mqttPort} }\n${users}`)
    .replace('data_dir: ../data', 'data_dir: data')
    .replace('  listen: { host: 127.0.0.1, port: 8080 }\n', `  listen: { host: 127.0.0.1, port: ${httpPort} }\n  metrics_token: ${METRICS_TOKEN}\n`)
    // No uplink: InfluxDB's buffer would write the load to disk, the same in every phase, and blur the page's cost.
    .replace(/^influx:\n(?:[ #].*\n|\n)*/m, '');
  if (yaml.includes('influx:') || !yaml.includes(LOAD_USER) || !yaml.includes(METRICS_TOKEN)) throw new Error('bench page: config/default.yaml changed shape; adapt districtConfig');
  for (const simulated of [15020, 15021, 15022]) yaml = yaml.replaceAll(`port: ${simulated}`, `port: ${await freePort()}`);
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  return { file, mqttPort, httpPort };
}

/** Bytes Chromium received (headers and bodies, as they came) for a first load of `/`, and its paint times. */
async function firstLoad(base: string): Promise<{ bytes: number; requests: number; firstPaint: number; firstContentfulPaint: number; byUrl: Map<string, number> }> {
  const browser = await openBrowser();
  try {
    const { context, page } = browser;
    // Logged in without loading the form: its style sheet would already be in the cache.
    const login = await context.request.post(`${base}/login`, { form: { username: STAFF, password: STAFF_PASSWORD }, maxRedirects: 0 });
    if (login.status() !== 303) throw new Error(`bench page: login answered ${login.status()}`);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const urls = new Map<string, string>();
    const byUrl = new Map<string, number>();
    cdp.on('Network.requestWillBeSent', (event) => urls.set(event.requestId, new URL(event.request.url).pathname));
    cdp.on('Network.loadingFinished', (event) => {
      const url = urls.get(event.requestId) ?? '?';
      byUrl.set(url, (byUrl.get(url) ?? 0) + event.encodedDataLength);
    });
    await page.goto(`${base}/`, { waitUntil: 'networkidle' });
    await page.locator('[data-device="feeder-meter-7"] canvas').first().waitFor();
    await page.waitForLoadState('networkidle');
    const paints = await page.evaluate<{ name: string; startTime: number }[]>("performance.getEntriesByType('paint').map((p) => ({ name: p.name, startTime: p.startTime }))");
    const paint = (name: string) => paints.find((p) => p.name === name)?.startTime ?? NaN;
    return { bytes: [...byUrl.values()].reduce((a, b) => a + b, 0), requests: byUrl.size, firstPaint: paint('first-paint'), firstContentfulPaint: paint('first-contentful-paint'), byUrl };
  } finally {
    await browser.close();
  }
}

/** Readings the gateway has taken in so far, every source together (its /metrics). */
async function readingsReceived(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  return [...text.matchAll(/^gateway_readings_received_total\{[^}]*\} (\S+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

interface Phase {
  /** The gateway's CPU in % of one core. */
  readonly cpu: number;
  readonly readingsPerSecond: number;
}

/** One phase of `SECONDS`, counted after it has settled. */
async function phase(pid: number, base: string): Promise<Phase> {
  await sleep(SETTLE_MS);
  const [cpuBefore, readingsBefore, started] = [cpuSeconds(pid), await readingsReceived(base), performance.now()];
  await sleep(SECONDS * 1000);
  const [cpuAfter, readingsAfter, seconds] = [cpuSeconds(pid), await readingsReceived(base), (performance.now() - started) / 1000];
  return { cpu: ((cpuAfter - cpuBefore) / seconds) * 100, readingsPerSecond: (readingsAfter - readingsBefore) / seconds };
}

/** A page that shows the load's devices live. */
async function livePage(browser: Browser, base: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => console.error('PAGEERR', e.message));
  await page.goto(`${base}/`);
  await page.locator(`[data-domain="${DOMAIN}"] [data-metric="flow"] .value`).first().waitFor({ timeout: 30_000 });
  return page;
}

export async function pageReport(): Promise<string> {
  await buildGateway();
  const cleanup = new Cleanup();
  try {
    const dir = cleanup.add(mkdtempSync(join(tmpdir(), 'gw-bench-page-')), 'temp dir', (d) => rmSync(d, { recursive: true, force: true }));
    const { file, mqttPort, httpPort } = await districtConfig(dir);
    const gateway = spawn(process.execPath, [resolve('dist', 'gateway', 'main.js'), '--config', file], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
    cleanup.add(gateway, 'gateway', (child) => stopChild(child, 'SIGTERM', 15_000));
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor(async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), { timeoutMs: 30_000, what: 'the gateway answering /healthz' });

    const load = await firstLoad(base);
    const generator = cleanup.add(await LoadGenerator.connect({ port: mqttPort, username: LOAD_USER, password: LOAD_PASSWORD }), 'load generator', (g) => g.stop());
    // Enough readings for every phase and the pages' start; the generator is stopped when the phases are done.
    const running = generator.run({ qos: 0, readings: RATE * (3 * SECONDS + 120), window: 10, rate: RATE });
    running.catch(() => undefined);
    const pid = gateway.pid!;
    await sleep(WARMUP_MS);
    const idle = await phase(pid, base);
    const browser = cleanup.add(await openBrowser(), 'chromium', (b) => b.close());
    await logIn(browser.page, base, STAFF, STAFF_PASSWORD);
    const pages = await Promise.all(Array.from({ length: PAGES }, () => livePage(browser, base)));
    const open = await phase(pid, base);
    await browser.screenshot('bench-page-under-load', pages[0]);
    await browser.close();
    const closed = await phase(pid, base);

    const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
    const parts = [...load.byUrl].sort((a, b) => b[1] - a[1]).map(([url, bytes]) => `${url} ${kb(bytes)}`);
    const baseline = (idle.cpu + closed.cpu) / 2;
    const show = (p: Phase) => `${p.cpu.toFixed(1)}% (${(p.readingsPerSecond / 1000).toFixed(1)}k readings/s)`;
    return [
      `status page, first load (empty cache, ${load.requests} requests): ${kb(load.bytes)} transferred [${parts.join(', ')}]`,
      `status page, first paint ${load.firstPaint.toFixed(0)} ms, first contentful paint ${load.firstContentfulPaint.toFixed(0)} ms`,
      `status page, gateway CPU with the district + ${RATE / 1000}k readings/s over MQTT (${SECONDS} s each): no page ${show(idle)}, ${PAGES} pages ${show(open)}, no page again ${show(closed)} of a core → ${PAGES} pages cost ${(open.cpu - baseline).toFixed(1)}% of a core (goal < 5%)`,
    ].join('\n');
  } finally {
    await cleanup.run();
  }
}
