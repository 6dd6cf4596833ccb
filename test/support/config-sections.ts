import { hashPassword } from '../../gateway/broker/password.js';
/** The `influx:` section of a test gateway's config: InfluxDB 1.x at `url`, database `city`, short timings for tests. */
export function influxV1Section(url: string, overrides: Readonly<Record<string, string>> = {}): string {
  const settings = { url, api: 'v1', database: 'city', create_database: 'true', flush_interval: '50ms', retry_initial: '50ms', retry_max: '300ms', ...overrides };
  return `influx:\n${Object.entries(settings)
    .map(([key, value]) => `  ${key}: ${value}\n`)
    .join('')}`;
}

/**
 * The `simulator:` and `devices:` sections of a test gateway: one simulated energy meter on `port`, polled as
 * `feeder-1` every `pollMs`.
 */
export function simulatedFeederSections(port: number, opts: { pollMs: number; seed: number }): string {
  return `simulator:
  slaves: [{ model: energy-meter, port: ${port}, profile: sim-energy-meter, seed: ${opts.seed} }]
devices:
  - { name: feeder-1, driver: modbus-tcp, host: 127.0.0.1, port: ${port}, profile: sim-energy-meter, poll_interval: ${opts.pollMs}ms, timeout: 1s }
`;
}

/** The password of a test login: `{user}-secret`. */
export const testPassword = (user: string): string => `${user}-secret`;

/** The `users:` entries of an `mqtt:` section (indented for it): each user with its role and a cheap scrypt hash of testPassword. */
export async function mqttUsersLines(users: Readonly<Record<string, string>>): Promise<string> {
  const lines = await Promise.all(Object.entries(users).map(async ([user, role]) => `    - { username: ${user}, role: ${role}, password_hash: "${await hashPassword(testPassword(user), { ln: 10 })}" }`));
  return lines.join('\n');
}
