/** Every plugin folder's sample config (`sample.yaml`) is a valid config of the whole gateway: the docs cannot rot. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config-file/load.js';
import { deviceKinds, sinkKinds } from '../../gateway/plugins.js';

function samplesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() && entry.name !== 'node_modules' ? samplesUnder(join(dir, entry.name)) : entry.name === 'sample.yaml' ? [join(dir, entry.name)] : [],
  );
}

const samples = ['drivers', 'gateway', 'tools'].flatMap(samplesUnder);
/** What the samples take from the environment; the hash is of "sample-password" (npm run hash-password). */
const env = {
  LORA_NORTH_HASH: '$scrypt$ln=14,r=8,p=1$rhCCtv6zDbZfddkhhkZzCQ$N/RcuUPZ7Arj/C3HIc+c/fjMRGx3N9H3DzrG2dTVoUo',
  DUTY_WEBHOOK_SECRET: 'sample-secret',
  SMTP_PASSWORD: 'sample-password',
  INFLUX_TOKEN: 'sample-token',
  BRIDGE_PASSWORD: 'sample-password',
};

describe('sample configs', () => {
  it('every device kind has a sample using it', () => {
    const used = new Set<string>(samples.flatMap((file) => loadConfig(file, env).devices.map((device) => device.driver)));
    expect(deviceKinds.map((kind) => kind.driver).filter((driver) => !used.has(driver))).toEqual([]);
  });

  it('every output has a sample using it', () => {
    const used = new Set<string>(samples.flatMap((file) => Object.keys(loadConfig(file, env).sinks)));
    expect(sinkKinds.map((kind) => kind.name).filter((name) => !used.has(name))).toEqual([]);
  });

  for (const file of samples) {
    it(`${file} loads`, () => {
      expect(loadConfig(file, env).site).toBeTruthy();
    });
  }
});
