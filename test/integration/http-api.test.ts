/**
 * The HTTP side against a running gateway on the simulated district: every endpoint, who may call it (no
 * credentials, each role, device logins), the login form and its cookie, the refused-login limit, live events, and an
 * acknowledgement over HTTP seen on MQTT by Mosquitto's own client, in the name of the user who logged in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, type MosquittoSub } from '../peers/mosquitto-sub.js';
import { freePort, waitFor } from '../peers/net.js';
import { mqttUsersLines, simulatedFeederSections, testPassword } from '../support/config-sections.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { basicAuth, httpCall, openEvents } from '../support/http-client.js';

const users = { olga: 'operator', sam: 'staff', vera: 'viewer', 'meter-1': 'device' } as const;
const password = testPassword;
const usersLines = await mqttUsersLines(users);
const as = (user: keyof typeof users) => basicAuth(user, password(user));
const ALERT = 'city/lab/alerts/frequency-seen/feeder-1/frequency';

async function config(): Promise<string> {
  return `site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: 0 }]
  users:
${usersLines}
http:
  listen: { port: 0 }
  login_limit: { attempts: 3, per: 1m }
  metrics_token: prometheus-scrape-token-0123456789
${simulatedFeederSections(await freePort(), { pollMs: 100, seed: 7 })}
rules:
  - name: frequency-seen
    match: { device: feeder-1, metric: frequency }
    above: 1
    severity: warning
    message: "{device} {metric} = {value} {unit}"
`;
}

describe('HTTP API', () => {
  let gw: RunningGateway;
  let base: string;
  let sub: MosquittoSub;

  beforeAll(async () => {
    gw = await startGateway(await config());
    base = gw.gateway.httpAddress!.url;
    sub = mosquittoSub({ port: gw.mqttPort, topic: [`${ALERT}/#`, ALERT], username: 'olga', password: password('olga') });
    await sub.ready();
    await waitFor(() => gw.gateway.alerts?.views().find((alert) => alert.state === 'firing'), { what: 'the frequency alert firing' });
  });
  afterAll(async () => {
    await sub?.stop();
    await gw?.stop();
  });

  it('answers /healthz to anyone, and nothing else without credentials', async () => {
    expect((await httpCall(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    for (const path of ['/readyz', '/api/health', '/api/devices', '/api/readings/latest', '/api/readings/history', '/api/session', '/api/alerts', '/api/links', '/api/uplinks', '/api/events', '/metrics']) {
      const answer = await httpCall(`${base}${path}`);
      expect(answer.status, path).toBe(401);
      expect(answer.json(), path).toMatchObject({ error: 'unauthorized', reason: 'no credentials' });
    }
    expect(gw.logs.some((line) => line.includes('HTTP request refused') && line.includes('remote=127.0.0.1') && line.includes('reason=no_credentials'))).toBe(true);
    // The status page sends people to the login form; its scripts and style sheet are no secret (the form uses them).
    const page = await httpCall(`${base}/`);
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/login');
    for (const asset of ['/page/style.css', '/page/app.js', '/page/uplot.js']) expect((await httpCall(`${base}${asset}`)).status, asset).toBe(200);
  });

  it('reports readiness with the parts, devices with their link and poll latency, links and uplinks', async () => {
    const ready = await httpCall(`${base}/readyz`, { headers: as('vera') });
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, degraded: [] });
    const { devices } = (await httpCall(`${base}/api/devices`, { headers: as('vera') })).json<{ devices: Record<string, unknown>[] }>();
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ name: 'feeder-1', driver: 'modbus-tcp', domain: 'energy', state: 'online', link: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(devices[0]!.last_reading).toBeGreaterThan(Date.now() - 60_000);
    expect(devices[0]!.poll_latency_ms).toBeGreaterThan(0);
    const { links } = (await httpCall(`${base}/api/links`, { headers: as('vera') })).json<{ links: Record<string, unknown>[] }>();
    expect(links[0]).toMatchObject({ driver: 'modbus-tcp', transactions: expect.any(Number), timeouts: 0 });
    expect((await httpCall(`${base}/api/uplinks`, { headers: as('vera') })).json()).toEqual({ uplinks: [] });
  });

  it('gives the latest reading per series, filtered by domain and device; bad filters are refused as JSON', async () => {
    const all = (await httpCall(`${base}/api/readings/latest?domain=energy&device=feeder-1`, { headers: as('sam') })).json<{ readings: { metric: string; value: unknown }[] }>();
    expect(all.readings.map((r) => r.metric)).toEqual(expect.arrayContaining(['frequency', 'voltage_l1', 'energy_import']));
    expect(new Set(all.readings.map((r) => r.metric)).size).toBe(all.readings.length);
    expect((await httpCall(`${base}/api/readings/latest?domain=water`, { headers: as('sam') })).json()).toEqual({ readings: [] });
    const bad = await httpCall(`${base}/api/readings/latest?device=a/b`, { headers: as('sam') });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'bad_request' });
  });

  it('keeps the whole health report and /metrics for operators; staff and viewers are refused', async () => {
    for (const user of ['sam', 'vera'] as const) {
      expect((await httpCall(`${base}/api/health`, { headers: as(user) })).status).toBe(403);
      expect((await httpCall(`${base}/metrics`, { headers: as(user) })).status).toBe(403);
    }
    expect((await httpCall(`${base}/api/health`, { headers: as('olga') })).json()).toMatchObject({ state: 'ok', devices: [{ device: 'feeder-1' }] });
    expect((await httpCall(`${base}/metrics`, { headers: as('olga') })).status).toBe(200);
    const scrape = await httpCall(`${base}/metrics`, { headers: { authorization: 'Bearer prometheus-scrape-token-0123456789' } });
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toContain('text/plain');
    // The metrics token opens /metrics and nothing else.
    expect((await httpCall(`${base}/api/devices`, { headers: { authorization: 'Bearer prometheus-scrape-token-0123456789' } })).status).toBe(403);
  });

  it('refuses device logins everywhere, even with the right password', async () => {
    const answer = await httpCall(`${base}/api/devices`, { headers: as('meter-1') });
    expect(answer.status).toBe(403);
    expect(answer.json()).toMatchObject({ error: 'forbidden', reason: 'a device login cannot use the HTTP side' });
    const form = await httpCall(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=meter-1&password=meter-1-secret' });
    expect(form.status).toBe(303);
    expect(form.headers.location).toBe('/login?refused');
    expect(form.headers['set-cookie']).toBeUndefined();
  });

  it('acknowledges over HTTP for staff (not viewers), recorded and announced on MQTT in the logged-in user’s name', async () => {
    const path = `${base}/api/alerts/frequency-seen/feeder-1/frequency/ack`;
    expect((await httpCall(path, { method: 'POST', headers: as('vera') })).status).toBe(403);
    const ack = await httpCall(path, { method: 'POST', headers: as('sam') });
    expect(ack.status).toBe(200);
    expect(ack.json()).toEqual({ acknowledged: 'frequency-seen/feeder-1/frequency', by: 'sam' });
    const result = await sub.next((m) => m.topic === `${ALERT}/ack/result`);
    expect(JSON.parse(result.payload)).toEqual({ by: 'sam', ok: true });
    const state = await sub.next((m) => m.topic === ALERT && m.payload.includes('"acknowledged":{'));
    expect(JSON.parse(state.payload).acknowledged).toMatchObject({ by: 'sam' });
    const alerts = (await httpCall(`${base}/api/alerts`, { headers: as('vera') })).json<{ active: { id: string; acknowledged: { by: string } }[]; recent: { kind: string }[] }>();
    expect(alerts.active).toEqual([expect.objectContaining({ id: 'frequency-seen/feeder-1/frequency', state: 'firing', acknowledged: expect.objectContaining({ by: 'sam' }) })]);
    expect(alerts.recent.map((change) => change.kind)).toContain('acknowledged');
    const missing = await httpCall(`${base}/api/alerts/no-rule/feeder-1/frequency/ack`, { method: 'POST', headers: as('olga') });
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found' });
  });

  it('logs in with the form: an HttpOnly SameSite=Strict cookie; changes with it need our origin; logout ends it', async () => {
    const form = await httpCall(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `username=sam&password=${password('sam')}` });
    expect(form.status).toBe(303);
    expect(form.headers.location).toBe('/');
    const setCookie = String(form.headers['set-cookie']);
    expect(setCookie).toMatch(/^gw_session=[\w-]+;/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).not.toContain('Secure');
    const cookie = setCookie.split(';')[0]!;
    expect((await httpCall(`${base}/api/devices`, { headers: { cookie } })).status).toBe(200);
    const ack = `${base}/api/alerts/frequency-seen/feeder-1/frequency/ack`;
    const forged = await httpCall(ack, { method: 'POST', headers: { cookie, origin: 'http://evil.example' } });
    expect(forged.status).toBe(403);
    expect(forged.json()).toMatchObject({ error: 'forbidden' });
    expect((await httpCall(ack, { method: 'POST', headers: { cookie } })).status).toBe(403);
    expect((await httpCall(ack, { method: 'POST', headers: { cookie, origin: base } })).status).toBe(200);
    const logout = await httpCall(`${base}/logout`, { method: 'POST', headers: { cookie, origin: base } });
    expect(logout.status).toBe(303);
    expect((await httpCall(`${base}/api/devices`, { headers: { cookie } })).status).toBe(401);
  });

  it('gives scripts a bearer token from POST /api/login', async () => {
    const login = await httpCall(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'vera', password: password('vera') }) });
    expect(login.status).toBe(200);
    const { token, role } = login.json<{ token: string; role: string }>();
    expect(role).toBe('viewer');
    expect((await httpCall(`${base}/api/alerts`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await httpCall(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"vera"}' })).status).toBe(400);
  });

  it('streams live readings, coalesced per series, to an SSE client', async () => {
    const client = await openEvents(`${base}/api/events`, as('vera'));
    try {
      expect(client.status).toBe(200);
      const batch = await waitFor(() => client.events.find((e) => e.event === 'readings'), { what: 'a readings event' });
      const readings = JSON.parse(batch.data) as { device: string; metric: string }[];
      expect(readings.length).toBeGreaterThan(0);
      expect(readings[0]).toMatchObject({ device: 'feeder-1', domain: 'energy' });
      // Each batch holds one reading per series at most.
      expect(new Set(readings.map((r) => r.metric)).size).toBe(readings.length);
      await waitFor(() => (client.events.filter((e) => e.event === 'readings').length >= 3 ? true : undefined), { what: 'more live batches' });
    } finally {
      client.close();
    }
  });

  it('takes a login that is gone (a page or script left running across a restart) for no guess: its address is never held back', async () => {
    const refusals = async (reason: string): Promise<number> => {
      const scrape = await httpCall(`${base}/metrics`, { headers: { authorization: 'Bearer prometheus-scrape-token-0123456789' } });
      const line = scrape.body.split('\n').find((l) => l.startsWith(`gateway_http_refusals_total{reason="${reason}"} `));
      return Number(line?.split(' ')[1]);
    };
    const [expiredBefore, guessedBefore] = [await refusals('expired_session'), await refusals('bad_credentials')];
    const stale = { cookie: 'gw_session=a-session-of-the-gateway-before-its-restart' };
    // More than the address's 3 refused logins a minute: the page's event stream and its fetches keep trying.
    for (let i = 0; i < 6; i++) {
      const answer = await httpCall(`${base}/api/readings/latest`, { headers: stale });
      expect(answer.status).toBe(401);
      expect(answer.json()).toMatchObject({ reason: 'unknown or expired session' });
    }
    expect((await httpCall(`${base}/api/devices`, { headers: { authorization: 'Bearer a-token-of-the-gateway-before-its-restart' } })).status).toBe(401);
    // A page answers with the login form, and the login works at once.
    const page = await httpCall(`${base}/`, { headers: stale });
    expect([page.status, page.headers.location]).toEqual([303, '/login']);
    expect((await httpCall(`${base}/api/devices`, { headers: as('olga') })).status).toBe(200);
    // All eight counted, apart from the guesses.
    expect((await refusals('expired_session')) - expiredBefore).toBe(8);
    expect(await refusals('bad_credentials')).toBe(guessedBefore);
  });

  it('answers a password with 429 and Retry-After once its address has guessed too often; a session that address already has goes on working', async () => {
    // Logged in before the guessing starts (a control room's open page, behind the same NAT address as the guesser).
    const login = await httpCall(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'olga', password: password('olga') }) });
    const { token } = login.json<{ token: string }>();
    const wrong = basicAuth('olga', 'not-her-password');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await httpCall(`${base}/api/devices`, { headers: wrong })).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    const limited = await httpCall(`${base}/api/devices`, { headers: as('olga') });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ error: 'too_many_requests' });
    const relogin = await httpCall(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'olga', password: password('olga') }) });
    expect(relogin.status).toBe(429);
    // Not guessed, so not held back: the session from before, and the scraper's token.
    expect((await httpCall(`${base}/api/devices`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const scrape = await httpCall(`${base}/metrics`, { headers: { authorization: 'Bearer prometheus-scrape-token-0123456789' } });
    expect(scrape.status).toBe(200);
    expect(scrape.body).toMatch(/^gateway_http_refusals_total\{reason="rate_limited"\} [1-9]/m);
  });
});
