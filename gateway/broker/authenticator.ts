import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity, Role } from './acl.js';
import type { UserConfig } from './config.js';
import type { ConnectionOrigin } from './listeners.js';
import { parsePasswordHash, verifyPassword, type ScryptHash } from './password.js';

/** MQTT 3.1.1 CONNACK return codes a login can end with. */
export const Refusal = { BadCredentials: 4, NotAuthorized: 5 } as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

export type LoginResult = { readonly identity: Identity } | { readonly refused: Refusal; readonly reason: string };

interface User {
  readonly identity: Identity;
  readonly hash: ScryptHash | undefined;
  /** The hash as configured, to tell a changed password on reload. */
  readonly hashText: string | undefined;
}

export interface AuthenticatorOptions {
  readonly users: readonly UserConfig[];
  readonly allowAnonymous: boolean;
  readonly anonymousRole: Role;
}

/**
 * Decides who a connecting client is: a verified client certificate (its CN names a user), a username and password
 * checked against the user's scrypt hash, or anonymous — which only loopback listeners ever accept.
 *
 * scrypt is deliberately slow (tens of ms); after a power cut every device reconnects at once, so a password that
 * verified once is remembered as a keyed digest (HMAC with a key that lives only in this process): reconnects cost
 * microseconds, and nothing stored in memory can be replayed elsewhere.
 */
export class Authenticator {
  private readonly users = new Map<string, User>();
  private readonly internal = new Map<string, Buffer>();
  private readonly verified = new Map<string, Buffer>();
  private readonly key = randomBytes(32);
  private readonly decoy: ScryptHash = { ln: 14, r: 8, p: 1, salt: randomBytes(16), key: randomBytes(32) };

  private opts: AuthenticatorOptions;

  constructor(opts: AuthenticatorOptions) {
    this.opts = opts;
    this.setUsers(opts);
  }

  /**
   * Takes a new set of users (a config reload). Returns the users whose login no longer holds as it was — removed, or
   * with another role, devices or password — so the broker can disconnect their sessions.
   */
  setUsers(opts: AuthenticatorOptions): string[] {
    const before = new Map(this.users);
    const anonymousChanged = opts.allowAnonymous !== this.opts.allowAnonymous || opts.anonymousRole !== this.opts.anonymousRole;
    this.opts = opts;
    this.users.clear();
    for (const user of opts.users) {
      this.users.set(user.username, {
        identity: { user: user.username, role: user.role, devices: user.devices },
        hash: user.password_hash === undefined ? undefined : parsePasswordHash(user.password_hash),
        hashText: user.password_hash,
      });
    }
    const changed = anonymousChanged ? ['anonymous'] : [];
    for (const [name, old] of before) {
      const now = this.users.get(name);
      if (now && JSON.stringify(now.identity) === JSON.stringify(old.identity) && now.hashText === old.hashText) continue;
      changed.push(name);
      this.verified.delete(name);
    }
    return changed;
  }

  /**
   * A login for the gateway's own helpers (Node-RED), valid for this process only, on loopback listeners only. The
   * password is random and never written anywhere but to the helper that uses it.
   */
  issueInternal(name: string): { username: string; password: string } {
    const username = `internal:${name}`;
    const password = randomBytes(24).toString('base64url');
    this.internal.set(username, this.digest(username, password));
    return { username, password };
  }

  async login(origin: ConnectionOrigin, username: string | undefined, password: Buffer | undefined): Promise<LoginResult> {
    if (origin.certificateUser !== undefined && (username === undefined || username === origin.certificateUser)) {
      const user = this.users.get(origin.certificateUser);
      if (!user) return { refused: Refusal.NotAuthorized, reason: `certificate CN "${origin.certificateUser}" is not a configured user` };
      return { identity: user.identity };
    }
    if (origin.listener.clientCertificates === 'require') return { refused: Refusal.NotAuthorized, reason: 'this listener requires a client certificate' };
    if (username === undefined) {
      if (!this.opts.allowAnonymous) return { refused: Refusal.NotAuthorized, reason: 'anonymous access is off' };
      if (!origin.listener.loopback) return { refused: Refusal.NotAuthorized, reason: 'anonymous access is refused on a network listener' };
      return { identity: { user: 'anonymous', role: this.opts.anonymousRole, devices: [] } };
    }
    const text = password?.toString('utf8') ?? '';
    const internal = this.internal.get(username);
    if (internal) {
      if (!origin.listener.loopback) return { refused: Refusal.NotAuthorized, reason: 'internal logins are for loopback listeners only' };
      return timingSafeEqual(internal, this.digest(username, text)) ? { identity: { user: username, role: 'internal', devices: [] } } : bad();
    }
    return this.checkPassword(username, text);
  }

  /**
   * A configured user's name and password, whatever the door (MQTT, the HTTP API): internal logins and anonymous
   * access are decided by the caller, never here.
   */
  async checkPassword(username: string, text: string): Promise<LoginResult> {
    const user = this.users.get(username);
    if (!user?.hash) {
      // As slow as a real check, so the answer's timing does not tell which user names exist.
      await verifyPassword(text, this.decoy);
      return bad();
    }
    const digest = this.digest(username, text);
    const known = this.verified.get(username);
    if (known && timingSafeEqual(known, digest)) return { identity: user.identity };
    if (!(await verifyPassword(text, user.hash))) return bad();
    this.verified.set(username, digest);
    return { identity: user.identity };
  }

  private digest(username: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(username).update('\0').update(password).digest();
  }
}

function bad(): LoginResult {
  // One answer for an unknown user and a wrong password, so logins cannot be used to find user names.
  return { refused: Refusal.BadCredentials, reason: 'bad user name or password' };
}
