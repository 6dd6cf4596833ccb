import { createHash, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../broker/authenticator.js';
import { isLoopback } from '../broker/config.js';
import type { LoginLimiter } from './login-limiter.js';
import { may, mayLogIn, type HttpIdentity, type Permission } from './permissions.js';
import type { RefusalReason, Refusals } from './refusals.js';
import type { SessionStore } from './sessions.js';

export const SESSION_COOKIE = 'gw_session';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs; `open` for /healthz and the login endpoints. */
    permission?: Permission | 'open';
    /** A page for people: without a login it answers with the login form (303 to /login) instead of a 401. */
    loginRedirect?: boolean;
  }
  interface FastifyRequest {
    identity: HttpIdentity | undefined;
  }
}

export interface AccessOptions {
  readonly authenticator: Authenticator;
  readonly sessions: SessionStore;
  readonly limiter: LoginLimiter;
  readonly refusals: Refusals;
  readonly allowAnonymous: boolean;
  readonly metricsToken: string | undefined;
}

type Verdict = { readonly identity: HttpIdentity; readonly viaCookie: boolean } | { readonly refused: RefusalReason; readonly why: string; readonly user?: string };
/** A password not checked: the address has guessed too often; try again in `wait` ms. */
type Held = { readonly wait: number };

/**
 * The gate in front of every route: who the request is (Basic, a bearer token from a login or the metrics token, the
 * session cookie, or anonymous on loopback when allowed), and whether the route's permission is theirs. Refusals are
 * counted and logged; wrong credentials count against the remote address's login allowance.
 */
export class Access {
  private readonly metricsDigest: Buffer | undefined;

  constructor(private readonly opts: AccessOptions) {
    this.metricsDigest = opts.metricsToken === undefined ? undefined : sha256(opts.metricsToken);
  }

  /** A fastify onRequest hook. */
  readonly gate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const permission = request.routeOptions.config.permission ?? 'operate';
    if (permission === 'open') return;
    const verdict = await this.identify(request);
    if ('wait' in verdict) return this.tooMany(request, reply, verdict.wait);
    if ('refused' in verdict) return this.refuse(request, reply, verdict.refused, verdict.why, verdict.user);
    const { identity } = verdict;
    if (!may(identity.role, permission)) return this.refuse(request, reply, 'forbidden', `role ${identity.role} may not ${permission}`, identity.user);
    // A cookie rides along with any request the browser makes, even one another site triggers: changes need our origin.
    if (verdict.viaCookie && request.method !== 'GET' && request.method !== 'HEAD' && !sameOrigin(request)) {
      return this.refuse(request, reply, 'cross_origin', 'a change with a session cookie needs an Origin (or Referer) of this server', identity.user);
    }
    request.identity = identity;
  };

  /**
   * Checks a user name and password for a new session (the login form, POST /api/login). A refusal is counted and
   * answered, unless `quiet` (the form answers with a redirect itself); too many refusals are always answered 429.
   */
  async logIn(request: FastifyRequest, reply: FastifyReply, username: string, password: string, opts: { quiet: boolean }): Promise<HttpIdentity | undefined> {
    const wait = this.opts.limiter.waitFor(request.ip);
    if (wait > 0) {
      await this.tooMany(request, reply, wait);
      return undefined;
    }
    const verdict = await this.checkPassword(username, password);
    if (!('refused' in verdict)) return verdict.identity;
    this.note(request, verdict.refused, verdict.why, username);
    if (!opts.quiet) await this.answer(reply, verdict.refused, verdict.why);
    return undefined;
  }

  /**
   * Who the request is. Only a password is held back from an address that guessed too often: a session or token it
   * already has was not guessed (a guesser behind the same NAT address must not lock out a control room's open page).
   */
  private async identify(request: FastifyRequest): Promise<Verdict | Held> {
    const header = request.headers.authorization;
    if (header) {
      const [scheme = '', value = ''] = header.split(' ', 2);
      if (scheme.toLowerCase() === 'basic') {
        const wait = this.opts.limiter.waitFor(request.ip);
        if (wait > 0) return { wait };
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) return { refused: 'bad_credentials', why: 'malformed Basic credentials' };
        return this.checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1));
      }
      if (scheme.toLowerCase() === 'bearer') {
        if (this.metricsDigest && timingSafeEqual(sha256(value), this.metricsDigest)) return { identity: { user: 'metrics-token', role: 'scraper' }, viaCookie: false };
        const session = this.opts.sessions.find(value);
        return session ? { identity: session.identity, viaCookie: false } : { refused: 'expired_session', why: 'unknown or expired token' };
      }
      return { refused: 'bad_credentials', why: `unsupported authorization scheme ${JSON.stringify(scheme.slice(0, 20))}` };
    }
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie) {
      const session = this.opts.sessions.find(cookie);
      return session ? { identity: session.identity, viaCookie: true } : { refused: 'expired_session', why: 'unknown or expired session' };
    }
    if (this.opts.allowAnonymous && isLoopback(request.ip)) return { identity: { user: 'anonymous', role: 'viewer' }, viaCookie: false };
    return { refused: 'no_credentials', why: 'no credentials' };
  }

  private async checkPassword(username: string, password: string): Promise<Verdict> {
    const result = await this.opts.authenticator.checkPassword(username, password);
    if ('refused' in result) return { refused: 'bad_credentials', why: result.reason, user: username };
    const { user, role } = result.identity;
    if (!mayLogIn(role)) return { refused: 'login_not_allowed', why: `a ${role} login cannot use the HTTP side`, user };
    return { identity: { user, role }, viaCookie: false };
  }

  private async refuse(request: FastifyRequest, reply: FastifyReply, reason: RefusalReason, why: string, user: string | undefined): Promise<void> {
    this.note(request, reason, why, user);
    if (request.routeOptions.config.loginRedirect && asksForLogin(reason)) {
      await reply.redirect('/login', 303);
      return;
    }
    await this.answer(reply, reason, why);
  }

  private note(request: FastifyRequest, reason: RefusalReason, why: string, user: string | undefined): void {
    this.opts.refusals.note(reason, { remote: request.ip, user, method: request.method, url: request.url, why });
    // Only guessing a password counts against the address: a missing login, a role's limits and a session that is gone
    // are no attack (a 256-bit token is not guessed), and a page left open across a restart must not lock its user out.
    if (reason === 'bad_credentials') this.opts.limiter.refused(request.ip);
  }

  private async answer(reply: FastifyReply, reason: RefusalReason, why: string): Promise<void> {
    const status = asksForLogin(reason) ? 401 : 403;
    // Bearer, not Basic: a Basic challenge would make browsers pop up their own login dialog over the page.
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="city edge gateway"');
    await reply.code(status).send({ error: status === 401 ? 'unauthorized' : 'forbidden', reason: why });
  }

  private async tooMany(request: FastifyRequest, reply: FastifyReply, waitMs: number): Promise<void> {
    this.opts.refusals.note('rate_limited', { remote: request.ip, user: undefined, method: request.method, url: request.url, why: 'too many refused logins from this address' });
    await reply
      .code(429)
      .header('retry-after', String(Math.ceil(waitMs / 1000)))
      .send({ error: 'too_many_requests', reason: 'too many refused logins from this address; try again later' });
  }
}

/** Refusals a login would cure: answered 401 (pages: the login form). */
function asksForLogin(reason: RefusalReason): boolean {
  return reason === 'no_credentials' || reason === 'bad_credentials' || reason === 'expired_session';
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The request's Origin (or, without one, its Referer) names this very server. */
function sameOrigin(request: FastifyRequest): boolean {
  const source = request.headers.origin ?? request.headers.referer;
  if (!source) return false;
  try {
    return new URL(source).host === request.headers.host;
  } catch {
    // An unparsable Origin is no origin of ours.
    return false;
  }
}
