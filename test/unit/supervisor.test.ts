import { describe, expect, it } from 'vitest';
import { service, type Service } from '../../gateway/services/service.js';
import { Supervisor } from '../../gateway/services/supervisor.js';
import { silentLogger } from '../../gateway/util/log.js';
import { waitFor } from '../peers/net.js';

/** A part that records its starts and stops, failing its first `failures` starts. */
function part(name: string, journal: string[], opts: { essential?: boolean; failures?: number } = {}): Service {
  let failures = opts.failures ?? 0;
  return service(name, {
    essential: opts.essential ?? false,
    start: () => {
      if (failures-- > 0) throw new Error(`${name} is not ready`);
      journal.push(`start ${name}`);
    },
    stop: () => {
      journal.push(`stop ${name}`);
    },
  });
}

describe('Supervisor', () => {
  it('starts in order and stops in reverse', async () => {
    const journal: string[] = [];
    const supervisor = new Supervisor([part('a', journal), part('b', journal), part('c', journal)], silentLogger);
    await supervisor.start();
    await supervisor.stop();
    expect(journal).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('keeps the others running while a failing part is retried, until it starts', async () => {
    const journal: string[] = [];
    const supervisor = new Supervisor([part('a', journal), part('flaky', journal, { failures: 2 }), part('c', journal)], silentLogger, { retryMinMs: 10, retryMaxMs: 20 });
    await supervisor.start();
    expect(journal).toEqual(['start a', 'start c']);
    expect(supervisor.health().find((h) => h.name === 'flaky')).toMatchObject({ state: 'retrying', error: 'flaky is not ready', failedStarts: 1 });
    await waitFor(() => (journal.includes('start flaky') ? true : undefined), { what: 'the flaky part started by a retry' });
    expect(supervisor.health().map((h) => h.state)).toEqual(['running', 'running', 'running']);
    expect(supervisor.health()[1]!.failedStarts).toBe(2);
    await supervisor.stop();
    expect(journal.slice(-3)).toEqual(['stop c', 'stop flaky', 'stop a']);
  });

  it('fails the start when an essential part cannot start, stopping what had started', async () => {
    const journal: string[] = [];
    const supervisor = new Supervisor([part('a', journal), part('buffer', journal, { essential: true, failures: 1 }), part('c', journal)], silentLogger);
    await expect(supervisor.start()).rejects.toThrow('buffer could not start: buffer is not ready');
    expect(journal).toEqual(['start a', 'stop a']);
  });

  it('does not retry after stop', async () => {
    const journal: string[] = [];
    const supervisor = new Supervisor([part('never', journal, { failures: 1000 })], silentLogger, { retryMinMs: 10, retryMaxMs: 10 });
    await supervisor.start();
    await supervisor.stop();
    const attempts = supervisor.health()[0]!.failedStarts;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(supervisor.health()[0]).toMatchObject({ state: 'stopped', failedStarts: attempts });
  });
});
