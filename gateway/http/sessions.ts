import { createHash, randomBytes } from 'node:crypto';
import type { HttpIdentity } from './permissions.js';

export interface Session {
  readonly identity: HttpIdentity;
  /** Monotonic ms after which the session is void unless used before. */
  expiresAt: number;
}

/**
 * Logins of the HTTP side (a session cookie for the page, a bearer token for scripts), in memory: a restart logs
 * everybody out, which is fine for a box on a pole. Bounded (the least recently used goes first) and expiring after
 * `lifetimeMs` without use. Tokens are stored as their SHA-256 only, so a heap dump holds nothing replayable.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly max: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A new session for `identity`; returns its token (256 random bits). */
  open(identity: HttpIdentity): string {
    const token = randomBytes(32).toString('base64url');
    if (this.sessions.size >= this.max) {
      const oldest = this.sessions.keys().next();
      if (!oldest.done) this.sessions.delete(oldest.value);
    }
    this.sessions.set(digest(token), { identity, expiresAt: this.now() + this.lifetimeMs });
    return token;
  }

  /** The session of a token, its lifetime renewed; undefined when unknown or expired. */
  find(token: string): Session | undefined {
    const key = digest(token);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    this.sessions.delete(key);
    if (session.expiresAt <= this.now()) return undefined;
    session.expiresAt = this.now() + this.lifetimeMs;
    // Re-inserted: a Map keeps insertion order, so the first key is always the least recently used.
    this.sessions.set(key, session);
    return session;
  }

  close(token: string): void {
    this.sessions.delete(digest(token));
  }

  /** Ends the sessions of users whose login changed or went (a config reload). */
  closeUsers(users: readonly string[]): number {
    let closed = 0;
    for (const [key, session] of this.sessions) {
      if (users.includes(session.identity.user)) {
        this.sessions.delete(key);
        closed++;
      }
    }
    return closed;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Forgets expired sessions (called now and then, so idle ones do not stay in memory until pushed out). */
  sweep(): void {
    const now = this.now();
    for (const [key, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(key);
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
