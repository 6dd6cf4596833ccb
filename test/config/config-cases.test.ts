/**
 * Golden cases of bad config files (Telegraf style): each folder under test/config-cases holds a config.yaml and the
 * exact problems the loader must list for it in expected.err. `UPDATE_GOLDEN=1 npx vitest run test/config` rewrites them.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../gateway/config/errors.js';
import { loadConfig } from '../../gateway/config-file/load.js';

const casesDir = join('test', 'config-cases');
const cases = readdirSync(casesDir).filter((name) => existsSync(join(casesDir, name, 'config.yaml')));

describe('bad config files', () => {
  it('has cases to check', () => expect(cases.length).toBeGreaterThan(10));

  for (const name of cases) {
    it(`${name}: lists every problem with file and path`, () => {
      const file = join(casesDir, name, 'config.yaml');
      let problems: readonly string[] = [];
      try {
        loadConfig(file, {});
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = error.problems;
      }
      expect(problems.length, 'the config must be refused').toBeGreaterThan(0);
      for (const line of problems) expect(line.startsWith(`${casesDir}/${name}/`)).toBe(true);
      const expectedFile = join(casesDir, name, 'expected.err');
      const actual = problems.join('\n') + '\n';
      if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, actual);
      expect(actual).toBe(readFileSync(expectedFile, 'utf8'));
    });
  }
});
