import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../util/log.js';
import { prepare, sendPrepared, type Prepared } from './compressed.js';

/** Where the page's files are: beside this module, or for the built JS in dist/ (tsc copies no HTML, CSS or browser JS) in the source tree. */
function pageDir(): string {
  const beside = fileURLToPath(new URL('./page/', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../../gateway/http/page/', import.meta.url));
}

const uplot = (file: string) => createRequire(import.meta.url).resolve(`uplot/dist/${file}`);

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The page's assets by URL: a fixed list, so no request names a file of its own. uPlot comes from node_modules, no CDN. */
function assetFiles(dir: string): Record<string, { file: string; type: string }> {
  return {
    '/page/app.js': { file: join(dir, 'app.js'), type: JS },
    '/page/api.js': { file: join(dir, 'api.js'), type: JS },
    '/page/live.js': { file: join(dir, 'live.js'), type: JS },
    '/page/render.js': { file: join(dir, 'render.js'), type: JS },
    '/page/charts.js': { file: join(dir, 'charts.js'), type: JS },
    '/page/style.css': { file: join(dir, 'style.css'), type: CSS },
    '/page/uplot.js': { file: uplot('uPlot.iife.min.js'), type: JS },
    '/page/uplot.css': { file: uplot('uPlot.min.css'), type: CSS },
  };
}

/**
 * The status page: `/` for logged-in users (others are sent to the login form), its scripts and styles open to all
 * (the login form uses the style sheet; nothing in them is secret). Files are read and gzipped once, on first request.
 */
export function pageRoutes(app: FastifyInstance, log: Logger): void {
  const dir = pageDir();
  // Said once at start, not at every request: an install that copied dist/ without the page's files.
  if (!existsSync(join(dir, 'index.html'))) log.error('status page files missing; / answers 500 (install gateway/http/page/ beside dist/)', { dir });
  const cache = new Map<string, Promise<Prepared>>();
  const load = (url: string, file: string, type: string) => {
    let prepared = cache.get(url);
    if (!prepared) {
      prepared = readFile(file).then((body) => prepare(body, type));
      // A failed read (a file missing from an install) is answered 500 and tried again on the next request.
      prepared.catch(() => cache.delete(url));
      cache.set(url, prepared);
    }
    return prepared;
  };

  // The page itself is small and names the user's session: revalidated every time, never stored by a proxy.
  app.get('/', { config: { permission: 'read', loginRedirect: true } }, async (request, reply) =>
    sendPrepared(request, reply, await load('/', join(dir, 'index.html'), 'text/html; charset=utf-8'), 'private, no-cache'),
  );
  for (const [url, { file, type }] of Object.entries(assetFiles(dir))) {
    app.get(url, { config: { permission: 'open' } }, async (request, reply) => sendPrepared(request, reply, await load(url, file, type), 'no-cache'));
  }
}
