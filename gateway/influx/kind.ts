import type { SinkKind } from '../services/sink-kind.js';
import { influxSchema, type InfluxConfig } from './config.js';
import { InfluxSink } from './influx-sink.js';

/** Time series to InfluxDB through the durable buffer. See README.md. */
export const influxKind: SinkKind<InfluxConfig> = {
  name: 'influx',
  schema: influxSchema,
  takes: 'readings',
  essential: true,
  start: async (config, env) => {
    const sink = InfluxSink.start(config, env.site, env.dataDir, env.log);
    // The pipeline closes its sinks once it has drained them: nothing is left to stop here.
    return { sink, health: () => sink.health(), stop: async () => {} };
  },
};
