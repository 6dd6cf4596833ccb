import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialsFile, flowsProblem, keepLastGood, prepareFlows } from '../../gateway/node-red/flows-file.js';

const tab = (id: string) => [{ id, type: 'tab', label: id }];
/** Node-RED's revision of a flow list, as its flows:started event carries it. */
const rev = (flows: unknown) => createHash('sha256').update(JSON.stringify(flows)).digest('hex');

describe('flows file', () => {
  let dir: string;
  let shipped: string;
  let userDir: string;
  const flows = () => JSON.parse(readFileSync(join(userDir, 'flows.json'), 'utf8')) as unknown;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nr-flows-'));
    shipped = join(dir, 'shipped');
    userDir = join(dir, 'user');
    mkdirSync(shipped);
    writeFileSync(join(shipped, 'b-traffic.json'), JSON.stringify(tab('traffic')));
    writeFileSync(join(shipped, 'a-water.json'), JSON.stringify(tab('water')));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('installs the shipped flows on first start, then keeps what operators deployed', () => {
    expect(prepareFlows(userDir, 'flows.json', shipped)).toEqual({ origin: 'shipped' });
    expect(flows()).toEqual([...tab('water'), ...tab('traffic')]);
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(tab('mine')));
    expect(prepareFlows(userDir, 'flows.json', shipped)).toEqual({ origin: 'kept' });
    expect(flows()).toEqual(tab('mine'));
  });

  it('restores the last good flows and their credentials for a corrupt file, and sets the corrupt one aside', () => {
    prepareFlows(userDir, 'flows.json', shipped);
    // Credentials first, then the flows, as Node-RED's storage writes them: written the other way round, the
    // credentials were newer whenever the clock ticked between the two writes, and the pair counted as mid-deploy.
    writeFileSync(join(userDir, 'flows_cred.json'), '{"$":"good-creds"}');
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(tab('good')));
    expect(keepLastGood(userDir, 'flows.json', rev(tab('good')))).toBe('kept');
    writeFileSync(join(userDir, 'flows.json'), '[{"id":');
    writeFileSync(join(userDir, 'flows_cred.json'), '{"$":"other"}');
    const prepared = prepareFlows(userDir, 'flows.json', shipped, new Date('2026-12-01T10:00:00Z'));
    expect(prepared).toMatchObject({ origin: 'last-good', problem: expect.stringContaining('not JSON') });
    expect(prepared.setAside).toMatch(/flows\.json\.corrupt-2026-12-01T10-00-00-000Z$/);
    expect(existsSync(prepared.setAside!)).toBe(true);
    expect(flows()).toEqual(tab('good'));
    expect(readFileSync(join(userDir, 'flows_cred.json'), 'utf8')).toBe('{"$":"good-creds"}');
  });

  it('falls back to the shipped flows when nothing good is left, never to nothing', () => {
    mkdirSync(userDir);
    writeFileSync(join(userDir, 'flows.json'), '{"not":"a list"}');
    expect(prepareFlows(userDir, 'flows.json', shipped)).toMatchObject({ origin: 'shipped', problem: 'the flows file is not a list of nodes' });
    expect(flows()).toEqual([...tab('water'), ...tab('traffic')]);
    expect(readdirSync(userDir).filter((name) => name.includes('.corrupt-'))).toHaveLength(1);
  });

  it('does not keep a flows file that is no flow list as the last good one', () => {
    mkdirSync(userDir);
    writeFileSync(join(userDir, 'flows.json'), '[{"type":"tab"}]');
    expect(keepLastGood(userDir, 'flows.json', rev([{ type: 'tab' }]))).toBe('no-flow-list');
    expect(existsSync(join(userDir, 'flows.json.last-good'))).toBe(false);
  });

  it('keeps only the flows that started, never a pair a deploy is still writing', () => {
    mkdirSync(userDir);
    const lastGood = () => [readFileSync(join(userDir, 'flows.json.last-good'), 'utf8'), readFileSync(join(userDir, 'flows_cred.json.last-good'), 'utf8')];
    const write = (name: string, text: string, mtimeS: number) => {
      writeFileSync(join(userDir, name), text);
      utimesSync(join(userDir, name), mtimeS, mtimeS);
    };
    write('flows_cred.json', '{"$":"old-creds"}', 1000);
    write('flows.json', JSON.stringify(tab('old')), 1001);
    expect(keepLastGood(userDir, 'flows.json', rev(tab('old')))).toBe('kept');
    // A deploy writes the credentials first, then the flows (as Node-RED's storage does). A flows:started of the old
    // flows arriving in between must not pair the old flows with the new credentials.
    write('flows_cred.json', '{"$":"new-creds"}', 1002);
    expect(keepLastGood(userDir, 'flows.json', rev(tab('old')))).toBe('changed');
    write('flows.json', JSON.stringify(tab('new'), null, 4), 1003);
    // Nor may it keep the new flows, which have not started yet (the file no longer holds what started).
    expect(keepLastGood(userDir, 'flows.json', rev(tab('old')))).toBe('changed');
    expect(lastGood()).toEqual([JSON.stringify(tab('old')), '{"$":"old-creds"}']);
    // The deploy's own start keeps them, however the file is formatted.
    expect(keepLastGood(userDir, 'flows.json', rev(tab('new')))).toBe('kept');
    expect(lastGood()).toEqual([JSON.stringify(tab('new'), null, 4), '{"$":"new-creds"}']);
  });

  it('names problems and credentials files as Node-RED does', () => {
    expect(flowsProblem('[]')).toBeUndefined();
    expect(flowsProblem('[1]')).toBe('node 0 of the flows file has no id or type');
    expect(credentialsFile('flows.json')).toBe('flows_cred.json');
    expect(credentialsFile('my-flows')).toBe('my-flows_cred');
  });
});
