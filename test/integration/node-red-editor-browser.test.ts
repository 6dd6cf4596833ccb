/**
 * The Node-RED editor in a real browser (Debian's Chromium), through the gateway: refused before the login, then the
 * editor loads at /red/ with its palette (and the gateway's own nodes when their package is in flows/), its comms
 * WebSocket through the proxy; a staff member gets it read-only. Screenshots in test-artifacts/screenshots/.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { NODE_PACKAGE_DIR } from '../../gateway/node-red/paths.js';
import { logIn, openBrowser, type Browser } from '../support/browser.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { nodeRedReady, nodeRedSection } from '../support/node-red-child.js';

const hashes = { olga: await hashPassword('olga-secret', { ln: 10 }), sam: await hashPassword('sam-secret', { ln: 10 }) };
const GATEWAY_NODES = ['gateway-reading-in', 'gateway-alert-in', 'gateway-reading-out', 'gateway-command'];

describe('Node-RED editor in a browser', () => {
  let gw: RunningGateway;
  let base: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    gw = await startGateway(`site: lab
mqtt:
  listeners: [{ host: 127.0.0.1, port: 0 }]
  users:
    - { username: olga, role: operator, password_hash: "${hashes.olga}" }
    - { username: sam, role: staff, password_hash: "${hashes.sam}" }
http:
  listen: { port: 0 }
${nodeRedSection()}`);
    base = gw.gateway.httpAddress!.url;
    await nodeRedReady(gw.gateway);
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  it('loads the editor at /red/ after the gateway login, with the palette and a live comms link', async () => {
    browser = await openBrowser();
    const { page } = browser;
    const refused = await page.goto(`${base}/red/`);
    expect(refused?.status()).toBe(401);
    await logIn(page, base, 'olga', 'olga-secret');
    const comms = page.waitForEvent('websocket', (ws) => ws.url().endsWith('/red/comms'));
    await page.goto(`${base}/red/`);
    await page.locator('.red-ui-palette-node[data-palette-type="inject"]').waitFor({ timeout: 30_000 });
    expect((await comms).isClosed()).toBe(false);
    if (existsSync(join(NODE_PACKAGE_DIR, 'package.json'))) {
      for (const type of GATEWAY_NODES) await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).waitFor({ timeout: 10_000 });
    }
    await expect.poll(() => page.locator('#red-ui-header-button-deploy').isVisible()).toBe(true);
    await browser.screenshot('node-red-editor-operator');
    await browser.close();
    browser = undefined;
  });

  it('gives staff the editor read-only', async () => {
    browser = await openBrowser();
    const { page } = browser;
    await logIn(page, base, 'sam', 'sam-secret');
    await page.goto(`${base}/red/`);
    await page.locator('.red-ui-palette-node[data-palette-type="inject"]').waitFor({ timeout: 30_000 });
    // Node-RED locks the Deploy button for users without flows.write (the gateway's token gives staff `read`).
    await page.locator('.red-ui-deploy-button-group.readOnly').waitFor({ timeout: 10_000 });
    await browser.screenshot('node-red-editor-staff');
  });
});
