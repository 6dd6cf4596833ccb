import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mintEditorToken, verifyEditorToken } from '../../gateway/node-red/editor-token.js';

const key = randomBytes(32);
const now = 1_800_000_000_000;

describe('editor tokens', () => {
  it('name the user and their permissions while fresh', () => {
    const token = mintEditorToken(key, { username: 'olga', permissions: '*' }, now);
    expect(verifyEditorToken(key, token, now + 1000)).toEqual({ username: 'olga', permissions: '*' });
    expect(verifyEditorToken(key, mintEditorToken(key, { username: 'sam', permissions: 'read' }, now), now)).toEqual({ username: 'sam', permissions: 'read' });
  });

  it('are void once expired, under another key, or changed in any way', () => {
    const token = mintEditorToken(key, { username: 'sam', permissions: 'read' }, now);
    expect(verifyEditorToken(key, token, now + 60_000)).toBeUndefined();
    expect(verifyEditorToken(randomBytes(32), token, now)).toBeUndefined();
    const [body, mac] = token.split('.') as [string, string];
    const promoted = Buffer.from(JSON.stringify({ u: 'sam', p: '*', e: now + 60_000 })).toString('base64url');
    for (const forged of [`${promoted}.${mac}`, `${body}.${mac.slice(1)}`, `${body}.${mac}.x`, body, '', 'a.b']) expect(verifyEditorToken(key, forged, now), forged).toBeUndefined();
  });
});
