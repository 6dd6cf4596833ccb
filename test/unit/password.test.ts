import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword } from '../../gateway/broker/password.js';

// Made by Python's hashlib.scrypt (the primitive under passlib) with salt bytes 0..15: proves the format interoperates.
const pythonHash = '$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU';
const salt = 'AAECAwQFBgcICQoLDA0ODw';
const key = 'mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU';

describe('hashPassword and verifyPassword', () => {
  it('round-trips a password through the PHC string', async () => {
    const text = await hashPassword('correct horse battery staple', { ln: 10 });
    expect(text).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const hash = parsePasswordHash(text);
    expect(hash).toMatchObject({ ln: 10, r: 8, p: 1 });
    expect(hash.salt).toHaveLength(16);
    expect(hash.key).toHaveLength(32);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
  });

  it('defaults to ln=14 and a fresh salt each time', async () => {
    const [a, b] = await Promise.all([hashPassword('pw'), hashPassword('pw')]);
    expect(a).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$/);
    expect(a).not.toBe(b);
  });

  it('verifies a hash made elsewhere', async () => {
    expect(await verifyPassword('correct horse battery staple', parsePasswordHash(pythonHash))).toBe(true);
  });

  it('says false for a wrong password, including one that differs only in case or a trailing space', async () => {
    const hash = parsePasswordHash(pythonHash);
    for (const wrong of ['Correct horse battery staple', 'correct horse battery staple ', '']) {
      expect(await verifyPassword(wrong, hash)).toBe(false);
    }
  });

  it('says false for a tampered hash: flipped key bit, other salt, other parameters', async () => {
    const hash = parsePasswordHash(pythonHash);
    const flipped = Buffer.from(hash.key);
    flipped[0]! ^= 1;
    const password = 'correct horse battery staple';
    expect(await verifyPassword(password, { ...hash, key: flipped })).toBe(false);
    expect(await verifyPassword(password, { ...hash, salt: Buffer.alloc(16) })).toBe(false);
    expect(await verifyPassword(password, { ...hash, ln: 11 })).toBe(false);
  });

  it('refuses a cost outside the bounds', async () => {
    await expect(hashPassword('pw', { ln: 9 })).rejects.toThrow('from 10 to 20 (got 9)');
    await expect(hashPassword('pw', { ln: 14.5 })).rejects.toThrow('must be an integer');
  });
});

describe('parsePasswordHash', () => {
  const cases: [string, string, string][] = [
    ['a plaintext password', 'hunter2', 'is not a password hash (it does not start with "$scrypt$")'],
    ['an empty string', '', 'is not a password hash'],
    ['another scheme', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g', 'uses the scheme "argon2id", but only scrypt is supported'],
    ['a bcrypt hash', '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW', 'uses the scheme "2b"'],
    ['a missing hash part', `$scrypt$ln=10,r=8,p=1$${salt}`, 'has 2 "$"-separated parts after "$scrypt", not 3'],
    ['an extra part', `$scrypt$ln=10,r=8,p=1$${salt}$${key}$`, 'has 4 "$"-separated parts'],
    ['parameters in another order', `$scrypt$r=8,ln=10,p=1$${salt}$${key}`, 'has the parameters "r=8,ln=10,p=1", not ln=<cost>,r=<block size>,p=<parallelism>'],
    ['N instead of ln', `$scrypt$N=1024,r=8,p=1$${salt}$${key}`, 'has the parameters "N=1024,r=8,p=1"'],
    ['a missing parameter', `$scrypt$ln=10,r=8$${salt}$${key}`, 'has the parameters "ln=10,r=8"'],
    ['a negative parameter', `$scrypt$ln=10,r=-8,p=1$${salt}$${key}`, 'has the parameters'],
    ['salt with padding', `$scrypt$ln=10,r=8,p=1$${salt}==$${key}`, 'has a salt that is not base64 without padding'],
    ['salt in URL-safe base64', `$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0OD_$${key}`, 'has a salt that is not base64 without padding'],
    ['a hash that is not base64', `$scrypt$ln=10,r=8,p=1$${salt}$not*base64`, 'has a hash that is not base64 without padding'],
    ['a truncated base64 hash', `$scrypt$ln=10,r=8,p=1$${salt}$${key.slice(0, 41)}`, 'has a hash that is not base64 without padding'],
    ['an empty salt', `$scrypt$ln=10,r=8,p=1$$${key}`, 'has a salt that is not base64'],
    ['a short salt', `$scrypt$ln=10,r=8,p=1$AAECAwQFBg$${key}`, 'has a 7-byte salt, shorter than 8 bytes'],
    ['a short hash', `$scrypt$ln=10,r=8,p=1$${salt}$AAECAwQFBgcICQoLDA0O`, 'has a 15-byte hash, shorter than 16 bytes'],
  ];
  it.each(cases)('refuses %s', (_name, text, problem) => {
    expect(() => parsePasswordHash(text)).toThrow(problem);
  });

  it('tells how to make a proper hash, and never quotes the text back', () => {
    let message = '';
    try {
      parsePasswordHash('my-plaintext-secret');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      'is not a password hash (it does not start with "$scrypt$"): expected $scrypt$ln=14,r=8,p=1$<salt>$<hash>; make one with `npm run --silent hash-password`',
    );
    // Only a short lower-case word between the first "$"s is named as a scheme.
    expect(() => parsePasswordHash('$a-long-secret-with-dollars$x')).toThrow(/^is not a password hash/);
    expect(() => parsePasswordHash('$Secret Pass$x')).toThrow(/^is not a password hash/);
  });

  const bounds: [string, string][] = [
    ['ln=9,r=8,p=1', 'has ln=9, outside 10 to 20'],
    ['ln=21,r=8,p=1', 'has ln=21, outside 10 to 20'],
    ['ln=10,r=0,p=1', 'has r=0, outside 1 to 32'],
    ['ln=10,r=33,p=1', 'has r=33, outside 1 to 32'],
    ['ln=10,r=8,p=0', 'has p=0, outside 1 to 16'],
    ['ln=10,r=8,p=17', 'has p=17, outside 1 to 16'],
    ['ln=999,r=8,p=1', 'has ln=999, outside 10 to 20'],
    // Each within its own bounds, but together 4 GiB of memory per login.
    ['ln=20,r=32,p=1', 'costs 4096 MiB of memory-hard work per login, more than the 1024 MiB allowed'],
    ['ln=18,r=8,p=16', 'costs 4096 MiB'],
  ];
  it.each(bounds)('refuses %s, out of bounds', (params, problem) => {
    expect(() => parsePasswordHash(`$scrypt$${params}$${salt}$${key}`)).toThrow(problem);
  });

  it('accepts the largest work allowed and passlib\'s default cost', () => {
    expect(parsePasswordHash(`$scrypt$ln=20,r=8,p=1$${salt}$${key}`)).toMatchObject({ ln: 20, r: 8, p: 1 });
    expect(parsePasswordHash(`$scrypt$ln=16,r=8,p=1$${salt}$${key}`)).toMatchObject({ ln: 16 });
  });
});
