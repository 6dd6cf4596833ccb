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
