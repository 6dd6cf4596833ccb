import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../gateway/runtime-flags.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/gc/old-generation-load.ts', import.meta.url));

describe('the hot path and the old generation', () => {
  // A full collection stops the gateway for 5–10 ms under load: an alarm that arrives meanwhile waits. Garbage only the
  // young generation holds never needs one. Counted by V8's own account, not by a timer.
  it('encodes 600,000 readings of new values for InfluxDB and MQTT with no full collection', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [...NODE_FLAGS, '--import', 'tsx', FIXTURE], { timeout: 60_000 });
    const result = JSON.parse(stdout) as { majors: number; chars: number };
    expect(result.chars).toBeGreaterThan(0);
    expect(result.majors).toBe(0);
  });
});
