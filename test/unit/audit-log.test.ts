import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../gateway/commands/audit-log.js';
import { createLogger } from '../../gateway/util/log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('audit log', () => {
  it('appends lines in order, rotates before a line would pass the size, and keeps a fixed number of old files', async () => {
    const root = mkdtempSync(join(tmpdir(), 'audit-'));
    dirs.push(root);
    const dir = join(root, 'audit');
    const log = new AuditLog({ dir, name: 'commands', maxBytes: 100, keep: 2 }, createLogger({ level: 'error', sink: { write: () => undefined } }));
    // 30 bytes a line: three fit in 100, the fourth starts a new file.
    const line = (i: number) => JSON.stringify({ n: i, pad: 'x'.repeat(14 - String(i).length) });
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(line(i))));
    expect(readdirSync(dir).sort()).toEqual(['commands.1.jsonl', 'commands.2.jsonl', 'commands.jsonl']);
    const read = (file: string) => readFileSync(join(dir, file), 'utf8').trim().split('\n').map((text) => (JSON.parse(text) as { n: number }).n);
    expect([read('commands.2.jsonl'), read('commands.1.jsonl'), read('commands.jsonl')]).toEqual([[3, 4, 5], [6, 7, 8], [9]]);
    expect(log.failures).toBe(0);
  });

  it('counts a line it cannot write instead of throwing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'audit-'));
    dirs.push(root);
    // A file where the directory should be: every append fails.
    const blocked = join(root, 'blocked');
    writeFileSync(blocked, '');
    const log = new AuditLog({ dir: blocked, name: 'commands', maxBytes: 1000, keep: 1 }, createLogger({ level: 'error', sink: { write: () => undefined } }));
    await log.append('{}');
    await log.append('{}');
    expect(log.failures).toBe(2);
  });
});
