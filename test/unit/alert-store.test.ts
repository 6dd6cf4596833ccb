/**
 * The alert store's saves: the changes of one turn go in one save at its end, the last state always lands, and a
 * store that is closed writes what is still pending, even with a save's rename still in the threadpool. Real files in
 * a temp dir. (Full disk: test/faults/disk-full-parts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertStore } from '../../gateway/alerts/alert-store.js';
import type { ActiveAlert } from '../../gateway/alerts/engine.js';
import { waitFor } from '../peers/net.js';
import { createLogger } from '../../gateway/util/log.js';

const log = createLogger({ level: 'warn', sink: { write: () => undefined } });
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function store(): AlertStore {
  const dir = mkdtempSync(join(tmpdir(), 'gw-alert-store-'));
  dirs.push(dir);
  return new AlertStore(join(dir, 'alerts', 'active.json'), log);
}

const alert = (id: string): ActiveAlert => ({ id, rule: 'high', device: 'gauge-1', metric: 'level', domain: 'water', unit: 'm', tags: undefined, state: 'firing', since: 1, value: 3, acknowledged: undefined }) as ActiveAlert;
const saved = (s: AlertStore): string[] => (JSON.parse(readFileSync(s.path, 'utf8')) as ActiveAlert[]).map((a) => a.id);
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits for the file to hold `ids`: a save lands once its rename, in the threadpool, is done. */
async function landed(s: AlertStore, ids: readonly string[]): Promise<void> {
  // A read before the first save lands throws (no file yet): waitFor tries again.
  await waitFor(() => (JSON.stringify(saved(s)) === JSON.stringify(ids) ? true : undefined), { what: `${ids.length} alerts saved`, timeoutMs: 2000, intervalMs: 10 });
}

describe('alert store', () => {
  it('saves the changes of one turn once, at its end', async () => {
    const s = store();
    let snapshots = 0;
    let active: ActiveAlert[] = [];
    for (let i = 0; i < 50; i++) {
      active = [...active, alert(`a${i}`)];
      s.save(() => (snapshots++, active));
    }
    expect(snapshots).toBe(0);
    await nextTurn();
    expect(snapshots).toBe(1);
    await landed(s, active.map((a) => a.id));
    expect(snapshots).toBe(1);
    s.close();
  });

  it('lands the last state of a storm of changes, with no more saves than turns', async () => {
    const s = store();
    let snapshots = 0;
    let active: ActiveAlert[] = [];
    const turns = 300;
    for (let i = 0; i < turns; i++) {
      // An alert fires and the one before resolves, every turn.
      active = [alert(`a${i}`)];
      s.save(() => (snapshots++, active));
      await nextTurn();
    }
    // A save after a pause is on a timer: wait for the last one to land.
    await landed(s, [`a${turns - 1}`]);
    expect(snapshots).toBeLessThanOrEqual(turns);
    s.close();
  });

  it('writes what is pending when closed, with the last save still being renamed, and nothing after', async () => {
    const s = store();
    s.save(() => [alert('a1')]);
    await nextTurn();
    // The save of a1 is in the threadpool now, or has just landed: either way the file must end with a1 and a2.
    s.save(() => [alert('a1'), alert('a2')]);
    s.close();
    expect(saved(s)).toEqual(['a1', 'a2']);
    s.save(() => []);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(saved(s)).toEqual(['a1', 'a2']);
  });
});
