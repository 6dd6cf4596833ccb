import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { EXIT_UNCAUGHT } from '../../gateway/process-guard.js';

const fixture = 'test/fixtures/process-guard-fixture.ts';

describe('process guard (a real node process)', () => {
  it('logs and counts an unhandled rejection and carries on', async () => {
    const result = await runCli(fixture, ['reject']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ERROR fixture "unhandled promise rejection.*error="Error: a task nobody waited for".*unhandled_rejections=1/);
    expect(result.stdout).toContain('still working');
  });

  it('stops cleanly and exits 70 after an uncaught exception', async () => {
    const result = await runCli(fixture, ['throw']);
    expect(result.code).toBe(EXIT_UNCAUGHT);
    expect(result.stdout).toMatch(/uncaught exception: state is unknown.*error="Error: boom from a timer".*uncaught_exceptions=1/);
    expect(result.stdout).toContain('stopped cleanly');
  });

  it('exits 70 within its bound when the stop hangs', async () => {
    const started = Date.now();
    const result = await runCli(fixture, ['throw-hang']);
    expect(result.code).toBe(EXIT_UNCAUGHT);
    expect(result.stdout).toContain('stop after an uncaught exception timed out');
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
