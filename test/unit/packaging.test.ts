/**
 * The systemd unit and the Dockerfile, checked statically: Docker and a systemd PID 1 do not run here, so these tests
 * read the files for the directives that matter (and let `systemd-analyze verify` parse the unit where it is
 * installed). They cannot tell that the image builds or that the service starts on a box.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS, SERVICE_NICE } from '../../gateway/runtime-flags.js';

const UNIT = 'packaging/systemd/city-gateway.service';

/** `Key=value` lines per [Section]; a key given several times keeps every value, in order. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const at = line.indexOf('=');
    if (!current || at < 0) throw new Error(`not a directive: ${line}`);
    const key = line.slice(0, at);
    current.set(key, [...(current.get(key) ?? []), line.slice(at + 1)]);
  }
  return sections;
}

describe('systemd unit', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const service = unit.get('Service')!;
  const value = (key: string) => service.get(key)?.at(-1);

  it('runs the built gateway as a dedicated user in the dialout group, with its state and config directories', () => {
    expect(value('User')).toBe('city-gateway');
    expect(value('SupplementaryGroups')).toBe('dialout');
    expect(value('StateDirectory')).toBe('city-gateway');
    expect(value('ConfigurationDirectory')).toBe('city-gateway');
    expect(value('ExecStart')).toBe(`/usr/bin/node ${NODE_FLAGS.join(' ')} /opt/city-gateway/dist/gateway/main.js --config /etc/city-gateway/gateway.yaml`);
    expect(value('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it('restarts on failure with a pause and a limit, but not for a refused config (exit 78)', () => {
    expect(value('Restart')).toBe('on-failure');
    expect(value('RestartSec')).toBeDefined();
    expect(unit.get('Unit')!.get('StartLimitIntervalSec')).toBeDefined();
    expect(unit.get('Unit')!.get('StartLimitBurst')).toBeDefined();
    expect(value('RestartPreventExitStatus')).toBe('78');
  });

  it('runs ahead of the services it shares the box with', () => {
    expect(value('Nice')).toBe(String(SERVICE_NICE));
    expect(Number(value('CPUWeight'))).toBeGreaterThan(100);
  });

  it('stops with SIGTERM and leaves time for the shutdown flush', () => {
    expect(value('KillSignal')).toBe('SIGTERM');
    expect(Number.parseInt(value('TimeoutStopSec') ?? '', 10)).toBeGreaterThanOrEqual(30);
  });

  it('is hardened: read-only system, no home, private tmp, no privileges, serial ports only, IP and local sockets only', () => {
    expect(value('ProtectSystem')).toBe('strict');
    expect(value('ProtectHome')).toBe('yes');
    expect(value('PrivateTmp')).toBe('yes');
    expect(value('NoNewPrivileges')).toBe('yes');
    expect(value('CapabilityBoundingSet')).toBe('');
    expect(value('DevicePolicy')).toBe('closed');
    expect(service.get('DeviceAllow')).toEqual(expect.arrayContaining(['char-ttyUSB rw', 'char-ttyAMA rw', 'char-ttyS rw']));
    expect(value('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    expect(value('MemoryMax')).toBeDefined();
    expect(value('LimitNOFILE')).toBeDefined();
    expect(value('StandardOutput')).toBe('journal');
  });

  it('passes systemd-analyze verify (systemd is among the test peers)', () => {
    // Throws with systemd's complaints when the unit has an unknown directive or a bad value.
    expect(() => execFileSync('systemd-analyze', ['verify', UNIT], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('npm start', () => {
  it('uses heap settings this node accepts (an unknown V8 option would stop the gateway from starting)', () => {
    const run = spawnSync(process.execPath, [...NODE_FLAGS, '-e', ''], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('runs the built gateway with its heap settings, as the unit and the image do', () => {
    const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toBe(`tsc -b tsconfig.build.json && exec node ${NODE_FLAGS.join(' ')} dist/gateway/main.js`);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync('Dockerfile', 'utf8');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));

  it('builds in its own stage and runs node:20-bookworm-slim with production dependencies and dist/ only', () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(text).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/m);
    expect(text).toMatch(/^RUN npx tsc -p tsconfig\.build\.json$/m);
    expect(runtime).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(runtime).toContain(`\nENTRYPOINT ${JSON.stringify(['node', ...NODE_FLAGS, 'dist/gateway/main.js']).replaceAll(',', ', ')}\n`);
  });

  it('runs as a user that is not root, in the dialout group', () => {
    const users = [...runtime.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBeDefined();
    expect(['root', '0']).not.toContain(users.at(-1));
    expect(runtime).toMatch(/useradd .*--groups dialout .*city-gateway/);
  });

  it('is not sent the host node_modules, dist or buffers', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'data', '.git']));
  });
});
