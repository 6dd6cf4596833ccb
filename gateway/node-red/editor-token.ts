import { createHmac, timingSafeEqual } from 'node:crypto';

/** Node-RED's permission scopes: everything, or reading only. */
export type EditorPermissions = '*' | 'read';

/** Who the editor's request is from, as the gateway vouches for it. */
export interface EditorUser {
  readonly username: string;
  readonly permissions: EditorPermissions;
}

/** The header the gateway's proxy puts the token in (Node-RED's `adminAuth.tokenHeader`). */
export const EDITOR_TOKEN_HEADER = 'x-gateway-editor-token';

/** A token outlives the request it rides on only by this much: one stolen from the child's side is soon worthless. */
const LIFETIME_MS = 60_000;

/**
 * The gateway's word for one proxied editor request: the user and their Node-RED permissions, an expiry, and an
 * HMAC with a key only the gateway and the running child share (handed over IPC, never in the environment). The child
 * trusts nothing else, so its port on loopback gives nobody access who bypasses the gateway's login.
 */
export function mintEditorToken(key: Buffer, user: EditorUser, now: number = Date.now()): string {
  const body = Buffer.from(JSON.stringify({ u: user.username, p: user.permissions, e: now + LIFETIME_MS })).toString('base64url');
  return `${body}.${sign(key, body)}`;
}

/** The user a token names, or undefined when it is forged, mangled or expired. */
export function verifyEditorToken(key: Buffer, token: string, now: number = Date.now()): EditorUser | undefined {
  const [body, mac, ...rest] = token.split('.');
  if (!body || !mac || rest.length) return undefined;
  const expected = Buffer.from(sign(key, body));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    // Signed by us, so never malformed in practice; a token that is still counts as no token.
    return undefined;
  }
  if (!isClaims(claims) || claims.e <= now) return undefined;
  return { username: claims.u, permissions: claims.p };
}

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

function isClaims(value: unknown): value is { u: string; p: EditorPermissions; e: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { u, p, e } = value as Record<string, unknown>;
  return typeof u === 'string' && (p === '*' || p === 'read') && typeof e === 'number';
}
