import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../peers/net.js';
import { runCli as runScript } from '../support/cli.js';

/** Runs the real command line, as an installer on a pole would. */
const runCli = (args: string[]) => runScript('gateway/main.ts', args);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('gateway command line', () => {
  it('refuses a bad config with its problems, exit code 78 and no stack trace', async () => {
    const result = await runCli(['--config', 'test/config-cases/wrong-types/config.yaml']);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('gateway: the configuration has 5 problems:');
    expect(result.stderr).toContain('test/config-cases/wrong-types/config.yaml: devices[0].points[0].type: "float33" is not allowed');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('names a config file that does not exist', async () => {
    const result = await runCli(['--config', 'nowhere/gateway.yaml']);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('nowhere/gateway.yaml: file not found');
  });

  it('rejects an unknown option with usage', async () => {
    const result = await runCli(['--confg', 'x.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: gateway [--config FILE]');
  });

  it('refuses a YAML alias bomb with exit code 78 and one line naming the file, not a stack trace', async () => {
    const result = await runCli(['--config', 'test/config-cases/alias-bomb/config.yaml']);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('gateway: the configuration has 1 problem:\n  test/config-cases/alias-bomb/config.yaml: (top level): ');
  });

  it('refuses two listeners on one address and port before binding, naming both (instead of EADDRINUSE at start)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-cli-'));
    dirs.push(dir);
    const port = await freePort();
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, `site: s\ndata_dir: ${dir}\nmqtt:\n  listeners:\n    - { type: tcp, host: 127.0.0.1, port: ${port} }\n    - { type: ws, host: 127.0.0.1, port: ${port} }\n`);
    const result = await runCli(['--config', file]);
    expect(result.stderr).not.toContain('EADDRINUSE');
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(`${file}: mqtt.listeners[1].port: 127.0.0.1:${port} is already taken by mqtt.listeners[0]`);
  });
});
