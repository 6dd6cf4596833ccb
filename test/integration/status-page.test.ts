/**
 * The status page in a real browser (Debian Chromium driven by playwright-core) against a running gateway on the
 * simulated district: the login form, values changing live, an alert fired by a field device's ingest reading and
 * acknowledged with the button (seen on MQTT by Mosquitto's own client in the user's name), a phone-sized viewport,
 * a viewer without the button, and "connection lost" while the gateway is gone. Screenshots: test-artifacts/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSlave, type ModbusSlave } from '../peers/modbus-slave.js';
import { mosquittoPub } from '../peers/mosquitto-pub.js';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort } from '../peers/net.js';
import { logIn, openBrowser, type Browser } from '../support/browser.js';
import { mqttUsersLines, simulatedFeederSections, testPassword } from '../support/config-sections.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { basicAuth, httpCall } from '../support/http-client.js';

const users = { sam: 'staff', vera: 'viewer', olga: 'operator', 'gauge-1': 'device' } as const;
const password = testPassword;
const usersLines = await mqttUsersLines(users);
const LEVEL_ALERT = 'gauge-level/gauge-1/level';
const LEVEL_TOPIC = `city/lab/alerts/${LEVEL_ALERT}`;

/** A pulse counter past 2^53 (2^53 + 1: a double reads it as 2^53), on a pymodbus slave as a uint64. */
const PULSES = '9007199254740993';

async function config(httpPort: number, simulatorPort: number, counterPort: number): Promise<string> {
  return `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: 0 }]
  users:
${usersLines}
http:
  listen: { port: ${httpPort} }
  events: { max_rate: 4, uplink_interval: 1s }
${simulatedFeederSections(simulatorPort, { pollMs: 200, seed: 5 })}
  - { name: meter-64, driver: modbus-tcp, host: 127.0.0.1, port: ${counterPort}, domain: energy, poll_interval: 500ms, points: [{ name: pulses, address: 0, type: uint64 }] }
rules:
  - name: gauge-level
    match: { device: gauge-1, metric: level }
    above: 4.5
    severity: critical
    message: "{device}: river level {value} {unit}, flood risk"
  - name: gauge-turbidity
    match: { device: gauge-1, metric: turbidity }
    above: 1
    severity: warning
    message: "{device}: turbidity {value} {unit}"
`;
}

/** A field device's reading, published by Mosquitto's own client with the device's login. */
async function ingest(mqttPort: number, payload: object): Promise<void> {
  const result = await mosquittoPub({ port: mqttPort, topic: 'city/lab/ingest/water/gauge-1', message: JSON.stringify(payload), username: 'gauge-1', password: password('gauge-1'), qos: 1 });
  expect(result.code, result.output).toBe(0);
}

const valueOf = (device: string, metric: string) => `[data-device="${device}"] [data-metric="${metric}"] .value`;

describe('status page in Chromium', () => {
  let yaml: string;
  let gw: RunningGateway;
  let base: string;
  let staff: Browser;
  let counter: ModbusSlave;

  beforeAll(async () => {
    const httpPort = await freePort();
    counter = await startModbusSlave({ spec: { units: { '1': { holding: { '0': 0x0020, '1': 0, '2': 0, '3': 1 } } } } });
    yaml = await config(httpPort, await freePort(), counter.port);
    gw = await startGateway(yaml);
    base = gw.gateway.httpAddress!.url;
    staff = await openBrowser();
  });
  afterAll(async () => {
    await staff?.close();
    await gw?.stop();
    await counter?.stop();
  });

  it('sends a browser without a login to the form, and logs in through it', async () => {
    const { page } = staff;
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await staff.screenshot('login');
    await logIn(page, base, 'sam', password('sam'));
    await expect.poll(() => page.locator('#site').textContent()).toBe('lab');
    expect(await page.locator('#user').textContent()).toBe('sam (staff)');
    await expect.poll(() => page.locator('#gateway-state').textContent()).toBe('running');
  });

  it('shows the devices by domain with values that change live, without a reload, and a chart per metric', async () => {
    const { page } = staff;
    // Browser code as strings: the tests compile without the DOM's types.
    await page.evaluate('window.notReloaded = true');
    const value = page.locator(valueOf('feeder-1', 'frequency'));
    await value.waitFor();
    const first = await value.textContent();
    await expect.poll(() => value.textContent(), { timeout: 15_000 }).not.toBe(first);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    expect(await page.locator('[data-domain="energy"] [data-device="feeder-1"] .badge').first().textContent()).toBe('online');
    expect(await page.locator('[data-device="feeder-1"] [data-metric="frequency"] .unit').textContent()).toBe('Hz');
    await page.locator('[data-device="feeder-1"] [data-metric="frequency"] canvas').waitFor();
    await staff.screenshot('live-values');
  });

  it('shows an alert a field device’s reading fires; Acknowledge records the user, seen on MQTT in their name', async () => {
    const { page } = staff;
    const sub: MosquittoSub = mosquittoSub({ port: gw.mqttPort, topic: [LEVEL_TOPIC, `${LEVEL_TOPIC}/#`], username: 'olga', password: password('olga') });
    try {
      await sub.ready();
      await ingest(gw.mqttPort, { level: { value: 4.9, unit: 'm' } });
      const alert = page.locator(`[data-alert="${LEVEL_ALERT}"]`);
      await alert.waitFor({ timeout: 15_000 });
      expect(await alert.locator('.message').textContent()).toBe('gauge-1: river level 4.9 m, flood risk');
      expect(await alert.locator('.badge').textContent()).toBe('critical');
      // The new device appears in its domain with the value that fired.
      expect(await page.locator(`[data-domain="water"] ${valueOf('gauge-1', 'level')}`).textContent()).toBe('4.9');
      await staff.screenshot('alert-firing');
      await alert.getByRole('button', { name: 'Acknowledge' }).click();
      const result = await sub.next((m) => m.topic === `${LEVEL_TOPIC}/ack/result`);
      expect(JSON.parse(result.payload)).toEqual({ by: 'sam', ok: true });
      const state = await sub.next((m) => m.topic === LEVEL_TOPIC && m.payload.includes('"acknowledged":{'));
      expect(JSON.parse(state.payload).acknowledged).toMatchObject({ by: 'sam' });
      await expect.poll(() => alert.locator('.acked').textContent()).toMatch(/^Acknowledged by sam at /);
      expect(await alert.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
      await staff.screenshot('alert-acknowledged');
    } finally {
      await sub.stop();
    }
  });

  it('shows a 64-bit counter with all its digits, live and after a reload (as a double it would end in …992)', async () => {
    const { page } = staff;
    const value = page.locator(valueOf('meter-64', 'pulses'));
    const digits = async (): Promise<string | undefined> => (await value.textContent())?.replace(/\D/g, '');
    await value.waitFor({ timeout: 15_000 });
    expect(await digits()).toBe(PULSES);
    await page.reload();
    await value.waitFor({ timeout: 15_000 });
    expect(await digits()).toBe(PULSES);
    // The chart plots it (as the nearest double) like any other value.
    await page.locator('[data-device="meter-64"] [data-metric="pulses"] canvas').waitFor();
  });

  it('fits a phone: 375×667 without horizontal scrolling, the buttons reachable by keyboard', async () => {
    const { page } = staff;
    await ingest(gw.mqttPort, { turbidity: { value: 2.5, unit: 'NTU' } });
    await page.locator('[data-alert="gauge-turbidity/gauge-1/turbidity"]').waitFor({ timeout: 15_000 });
    await page.setViewportSize({ width: 375, height: 667 });
    await page.locator(`${valueOf('feeder-1', 'frequency')}`).scrollIntoViewIfNeeded();
    await page.locator('[data-device="feeder-1"] [data-metric="frequency"] canvas').waitFor();
    const widths = await page.evaluate<{ scroll: number; client: number }>('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    await staff.screenshot('phone');
    // Tab order: the logout button, then the alert's Acknowledge button.
    await page.evaluate('window.scrollTo(0, 0)');
    await page.locator('body').focus();
    const focused: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate<string>("document.activeElement?.textContent ?? ''"));
    }
    expect(focused).toEqual(expect.arrayContaining(['Log out', 'Acknowledge']));
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('shows a viewer the alerts without an Acknowledge button; the API refuses a viewer’s acknowledgement', async () => {
    const viewer = await openBrowser();
    try {
      await logIn(viewer.page, base, 'vera', password('vera'));
      const alert = viewer.page.locator('[data-alert="gauge-turbidity/gauge-1/turbidity"]');
      await alert.waitFor({ timeout: 15_000 });
      expect(await viewer.page.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
      await viewer.screenshot('viewer');
      const refused = await viewer.page.evaluate<number>("fetch('/api/alerts/gauge-turbidity/gauge-1/turbidity/ack', { method: 'POST' }).then((answer) => answer.status)");
      expect(refused).toBe(403);
    } finally {
      await viewer.close();
    }
  });

  it('serves the last minutes per series and who is logged in to the page’s scripts', async () => {
    const history = await httpCall(`${base}/api/readings/history?device=feeder-1`, { headers: basicAuth('vera', password('vera')) });
    expect(history.status).toBe(200);
    const { series } = history.json<{ series: { device: string; metric: string; unit: string; ts: number[]; values: number[] }[] }>();
    const frequency = series.find((s) => s.metric === 'frequency')!;
    expect(frequency).toMatchObject({ device: 'feeder-1', unit: 'Hz' });
    expect(frequency.ts.length).toBeGreaterThan(2);
    expect(frequency.ts.length).toBe(frequency.values.length);
    // One point a second at most.
    for (let i = 1; i < frequency.ts.length; i++) expect(Math.floor(frequency.ts[i]! / 1000)).toBeGreaterThan(Math.floor(frequency.ts[i - 1]! / 1000));
    const session = await httpCall(`${base}/api/session`, { headers: basicAuth('sam', password('sam')) });
    expect(session.json()).toEqual({ user: 'sam', role: 'staff', site: 'lab', may_acknowledge: true });
  });

  it('shows "connection lost" while the gateway is gone; after its restart the page asks for a new login and goes on live', async () => {
    const { page } = staff;
    await gw.stop();
    await page.locator('#connection').waitFor({ state: 'visible', timeout: 15_000 });
    await staff.screenshot('connection-lost');
    gw = await startGateway(yaml);
    // Sessions live in the gateway's memory: the restarted one knows no cookie, so the page goes to the login form.
    await page.waitForURL(`${base}/login`, { timeout: 20_000 });
    await logIn(page, base, 'sam', password('sam'));
    expect(await page.locator('#connection').isHidden()).toBe(true);
    const value = page.locator(valueOf('feeder-1', 'frequency'));
    await value.waitFor();
    const first = await value.textContent();
    await expect.poll(() => value.textContent(), { timeout: 15_000 }).not.toBe(first);
  });
});
