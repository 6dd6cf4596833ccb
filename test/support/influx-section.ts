/** The `influx:` section of a test gateway's config: InfluxDB 1.x at `url`, database `city`, short timings for tests. */
export function influxV1Section(url: string, overrides: Readonly<Record<string, string>> = {}): string {
  const settings = { url, api: 'v1', database: 'city', create_database: 'true', flush_interval: '50ms', retry_initial: '50ms', retry_max: '300ms', ...overrides };
  return `influx:\n${Object.entries(settings)
    .map(([key, value]) => `  ${key}: ${value}\n`)
    .join('')}`;
}
