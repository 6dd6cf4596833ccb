import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs the real command line, as an installer on a pole would. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

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
