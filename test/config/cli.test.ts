import { describe, expect, it } from 'vitest';
import { runCli as runScript } from '../support/cli.js';

/** Runs the real command line, as an installer on a pole would. */
const runCli = (args: string[]) => runScript('gateway/main.ts', args);

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
});
