import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (scripts/install-peers.sh installs it); never a browser download. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, and no traffic of its own: the machine's closed network refuses Google's hosts (PEERS.md, "Browsers"). */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Screenshots of browser tests and benches: git-ignored, kept after the run for people to look at. */
export const SCREENSHOTS = resolve('test-artifacts', 'screenshots');

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Saves a screenshot of `page` as test-artifacts/screenshots/<name>.png. */
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

/** One Chromium with a fresh profile in a temp dir (its own cookies): one browser per user of a test. */
export async function openBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'gw-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: opts.viewport ?? { width: 1280, height: 900 } });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async screenshot(name, shot = page) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const path = join(SCREENSHOTS, `${name}.png`);
      await shot.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Logs in through the login form, as a person would, and waits for the status page. */
export async function logIn(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole('button', { name: 'Log in' }).click()]);
}
