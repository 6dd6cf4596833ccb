import type { FastifyInstance } from 'fastify';
import { SESSION_COOKIE, type Access } from './access.js';
import type { SessionStore } from './sessions.js';

const credentials = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', minLength: 1, maxLength: 256 }, password: { type: 'string', maxLength: 1024 } },
} as const;

/** The login form, in the status page's style; it works without script. */
const loginPage = (refused: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Log in · city edge gateway</title>
<link rel="stylesheet" href="/page/style.css"></head>
<body><main class="login"><h1>City edge gateway</h1>${refused ? '<p role="alert">Wrong user name or password, or this login may not use the page.</p>' : ''}
<form method="post" action="/login"><label>User name <input name="username" autocomplete="username" autocapitalize="none" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label><button>Log in</button></form></main></body></html>`;

/**
 * Logging in and out: the form (a session cookie, HttpOnly, SameSite=Strict, Secure over TLS) for the page, and
 * POST /api/login (a bearer token) for scripts. Both make the same kind of session.
 */
export function authRoutes(app: FastifyInstance, access: Access, sessions: SessionStore, opts: { readonly secure: boolean; readonly lifetimeMs: number }): void {
  app.get<{ Querystring: { refused?: string } }>('/login', { config: { permission: 'open' } }, async (request, reply) => reply.type('text/html; charset=utf-8').send(loginPage(request.query.refused !== undefined)));

  app.post<{ Body: { username: string; password: string } }>('/login', { config: { permission: 'open' }, schema: { body: credentials } }, async (request, reply) => {
    const identity = await access.logIn(request, reply, request.body.username, request.body.password, { quiet: true });
    if (reply.sent) return reply;
    if (!identity) return reply.redirect('/login?refused', 303);
    void reply.setCookie(SESSION_COOKIE, sessions.open(identity), { path: '/', httpOnly: true, sameSite: 'strict', secure: opts.secure, maxAge: Math.floor(opts.lifetimeMs / 1000) });
    return reply.redirect('/', 303);
  });

  app.post('/logout', { config: { permission: 'read' } }, async (request, reply) => {
    const token = request.cookies[SESSION_COOKIE];
    if (token) sessions.close(token);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/login', 303);
  });

  app.post<{ Body: { username: string; password: string } }>('/api/login', { config: { permission: 'open' }, schema: { body: credentials } }, async (request, reply) => {
    const identity = await access.logIn(request, reply, request.body.username, request.body.password, { quiet: false });
    if (!identity) return reply;
    return { token: sessions.open(identity), user: identity.user, role: identity.role, expires_in: Math.floor(opts.lifetimeMs / 1000) };
  });

  app.post('/api/logout', { config: { permission: 'read' } }, async (request) => {
    const [scheme, token] = (request.headers.authorization ?? '').split(' ', 2);
    if (scheme?.toLowerCase() === 'bearer' && token) sessions.close(token);
    return { logged_out: true };
  });
}
