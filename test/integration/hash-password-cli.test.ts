import { describe, expect, it } from 'vitest';
import { runCli as runScript } from '../support/cli.js';
import { parsePasswordHash, verifyPassword } from '../../gateway/broker/password.js';

/** Runs the real command with `stdin` piped in, as a provisioning script would. */
const runCli = (args: string[], stdin: string) => runScript('gateway/cli/hash-password.ts', args, stdin);

describe('hash-password command line', () => {
  it('prints only the hash of the first stdin line, which verifies', async () => {
    const result = await runCli(['--cost', '10'], 'pump station 3 secret\nsecond line ignored\n');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$\S+\n$/);
    const hash = parsePasswordHash(result.stdout.trimEnd());
    expect(await verifyPassword('pump station 3 secret', hash)).toBe(true);
    expect(await verifyPassword('second line ignored', hash)).toBe(false);
  });

  it('takes a last line without a newline, and a Windows line ending is not part of the password', async () => {
    const bare = await runCli(['--cost', '10'], 'no-newline');
    expect(await verifyPassword('no-newline', parsePasswordHash(bare.stdout.trimEnd()))).toBe(true);
    const crlf = await runCli(['--cost', '10'], 'typed-on-windows\r\n');
    expect(await verifyPassword('typed-on-windows', parsePasswordHash(crlf.stdout.trimEnd()))).toBe(true);
  });

  it('fails with exit code 1 on an empty password or no input', async () => {
    for (const stdin of ['\n', '']) {
      const result = await runCli([], stdin);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^hash-password: (the password is empty|no password given)\n$/);
    }
  });

  it('refuses a password given as an argument without repeating it, exit code 2', async () => {
    const result = await runCli(['hunter2'], '');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('takes no arguments: the password is read from the terminal or stdin');
    expect(result.stderr).not.toContain('hunter2');
    expect(result.stdout).toBe('');
  });

  it('refuses a cost out of bounds with usage, exit code 2', async () => {
    const result = await runCli(['--cost', '25'], 'pw\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('hash-password: --cost must be an integer from 10 to 20 (got "25")\nusage: npm run --silent hash-password [-- --cost N]\n');
  });

  it('explains itself and the config it feeds with --help', async () => {
    const result = await runCli(['--help'], '');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('usage: npm run --silent hash-password [-- --cost N]');
    expect(result.stdout).toMatch(/mqtt:\n\s+users:\n\s+- username: \S+\n\s+role: device\n\s+password_hash: "\$scrypt\$/);
  });
});
