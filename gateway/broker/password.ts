/**
 * MQTT password hashes: scrypt in the PHC string format of passlib, `$scrypt$ln=14,r=8,p=1$<salt>$<hash>`
 * (N = 2^ln; salt and hash in base64 without padding), so hashes can also be made or checked with Python's passlib.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptHash {
  /** log2 of the CPU/memory cost N. */
  readonly ln: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
  readonly salt: Buffer;
  /** The derived key; its length is the key length to derive when verifying. */
  readonly key: Buffer;
}

/**
 * What a hash may ask for, so a config cannot make one login cost minutes or gigabytes. `maxWorkBytes` bounds
 * 128·N·r·p: the memory a login takes (128·N·r) times the passes over it (p); ln=20,r=8,p=1 is the most it allows.
 */
export const scryptLimits = {
  ln: { min: 10, max: 20 },
  r: { min: 1, max: 32 },
  p: { min: 1, max: 16 },
  minSaltBytes: 8,
  minKeyBytes: 16,
  maxWorkBytes: 2 ** 30,
} as const;

const defaults = { ln: 14, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;
const howToMake = 'make one with `npm run --silent hash-password`';
const shape = '$scrypt$ln=14,r=8,p=1$<salt>$<hash>';
const unpaddedBase64 = /^[A-Za-z0-9+/]+$/;

/** Throws an Error whose message says what is wrong with the text and how to make a proper hash. */
export function parsePasswordHash(text: string): ScryptHash {
  // The text is never quoted back: it may be a plaintext password pasted where the hash belongs.
  const fields = text.split('$');
  const [lead, scheme, params = '', saltText = '', keyText = ''] = fields;
  if (lead !== '' || scheme === undefined) invalidHash('is not a password hash (it does not start with "$scrypt$")');
  if (scheme !== 'scrypt') {
    invalidHash(/^[a-z0-9-]{1,20}$/.test(scheme) ? `uses the scheme "${scheme}", but only scrypt is supported` : 'is not a password hash (it does not start with "$scrypt$")');
  }
  if (fields.length !== 5) invalidHash(`has ${fields.length - 2} "$"-separated parts after "$scrypt", not 3 (parameters, salt, hash)`);

  const match = /^ln=(\d{1,3}),r=(\d{1,3}),p=(\d{1,3})$/.exec(params);
  if (!match) invalidHash(`has the parameters ${JSON.stringify(params.slice(0, 40))}, not ln=<cost>,r=<block size>,p=<parallelism>`);
  const ln = inBounds('ln', Number(match[1]), scryptLimits.ln);
  const r = inBounds('r', Number(match[2]), scryptLimits.r);
  const p = inBounds('p', Number(match[3]), scryptLimits.p);
  const work = 128 * 2 ** ln * r * p;
  if (work > scryptLimits.maxWorkBytes) {
    invalidHash(`has ln=${ln},r=${r},p=${p}, which costs ${work / 2 ** 20} MiB of memory-hard work per login, more than the ${scryptLimits.maxWorkBytes / 2 ** 20} MiB allowed (lower ln, r or p)`);
  }

  const salt = decodeBase64('salt', saltText, scryptLimits.minSaltBytes);
  const key = decodeBase64('hash', keyText, scryptLimits.minKeyBytes);
  return { ln, r, p, salt, key };
}

export async function hashPassword(password: string, opts: { ln?: number } = {}): Promise<string> {
  const ln = opts.ln ?? defaults.ln;
  if (!Number.isInteger(ln) || ln < scryptLimits.ln.min || ln > scryptLimits.ln.max) {
    throw new RangeError(`scrypt cost ln must be an integer from ${scryptLimits.ln.min} to ${scryptLimits.ln.max} (got ${ln})`);
  }
  const { r, p } = defaults;
  const salt = randomBytes(defaults.saltBytes);
  const key = await deriveKey(password, { ln, r, p, salt, keyBytes: defaults.keyBytes });
  return `$scrypt$ln=${ln},r=${r},p=${p}$${toUnpaddedBase64(salt)}$${toUnpaddedBase64(key)}`;
}

/** Constant-time comparison; false on mismatch. */
export async function verifyPassword(password: string, hash: ScryptHash): Promise<boolean> {
  const key = await deriveKey(password, { ...hash, keyBytes: hash.key.length });
  return timingSafeEqual(key, hash.key);
}

/** The async scrypt runs on libuv's thread pool, so a login never blocks the event loop. */
function deriveKey(password: string, params: { ln: number; r: number; p: number; salt: Buffer; keyBytes: number }): Promise<Buffer> {
  const { ln, r, p, salt, keyBytes } = params;
  const N = 2 ** ln;
  // OpenSSL needs 128·r·(N + p + 2) bytes; the margin keeps rounding in other builds from refusing a valid hash.
  const maxmem = 128 * r * (N + p + 2) + 2 ** 20;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, { N, r, p, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function invalidHash(problem: string): never {
  throw new Error(`${problem}: expected ${shape}; ${howToMake}`);
}

function inBounds(name: string, value: number, bounds: { readonly min: number; readonly max: number }): number {
  if (value < bounds.min || value > bounds.max) invalidHash(`has ${name}=${value}, outside ${bounds.min} to ${bounds.max}`);
  return value;
}

function decodeBase64(name: string, text: string, minBytes: number): Buffer {
  // Length 4k+1 cannot be base64: Node would silently drop the stray character.
  if (!unpaddedBase64.test(text) || text.length % 4 === 1) invalidHash(`has a ${name} that is not base64 without padding`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < minBytes) invalidHash(`has a ${bytes.length}-byte ${name}, shorter than ${minBytes} bytes`);
  return bytes;
}

function toUnpaddedBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
