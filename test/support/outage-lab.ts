import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startInfluxDb1, type InfluxDb1 } from '../peers/influxdb.js';
import { spawnGateway, type GatewayProcess } from './gateway-process.js';

/**
 * The set-up of the kill -9 tests: a real InfluxDB 1.x that can be stopped and started again on its port and data,
 * a temp dir for the gateway's config and data, and gateway processes that are all killed at the end of the suite.
 * `outageLab()` registers the suite's beforeAll/afterAll.
 */
export interface OutageLab {
  /** The running InfluxDB (replaced by restartInflux). */
  readonly influx: InfluxDb1;
  readonly dir: string;
  /** Starts the gateway as its own process on a config file. */
  spawn(configFile: string): Promise<GatewayProcess>;
  /** Starts InfluxDB again where it was, with its data. */
  restartInflux(): Promise<void>;
}

export function outageLab(dirPrefix: string): OutageLab {
  let influx: InfluxDb1 | undefined;
  let dir = '';
  const gateways: GatewayProcess[] = [];
  beforeAll(async () => {
    influx = await startInfluxDb1();
    dir = mkdtempSync(join(tmpdir(), dirPrefix));
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.cleanup();
    await influx?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get influx() {
      return influx!;
    },
    get dir() {
      return dir;
    },
    async spawn(configFile) {
      const gateway = await spawnGateway(configFile);
      gateways.push(gateway);
      return gateway;
    },
    async restartInflux() {
      influx = await startInfluxDb1({ port: influx!.port, dataDir: influx!.dataDir });
    },
  };
}
