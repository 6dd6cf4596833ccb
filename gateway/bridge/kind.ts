import { resolveFiles } from '../config/files.js';
import type { SinkKind } from '../services/sink-kind.js';
import { bridgeSchema, type BridgeConfig } from './config.js';

/** Store-and-forward to the city platform's central broker, and commands back down. See README.md. */
export const bridgeKind: SinkKind<BridgeConfig> = {
  name: 'bridge',
  schema: bridgeSchema,
  takes: 'broker',
  essential: false,
  resolve: (config, ctx) => resolveFiles(config, 'bridge', ctx),
  start: async (config, env) => {
    // Loaded with its MQTT client only where a bridge is configured: a few MB of heap a gateway without one never needs.
    const { Bridge } = await import('./bridge.js');
    const bridge = await Bridge.start(config, {
      broker: env.broker,
      readings: env.readings,
      topics: env.topics,
      dataDir: env.dataDir,
      resolvePath: (path) => path, // made absolute by resolve
      mayRouteDown: env.mayRouteDown,
      log: env.log,
    });
    return {
      health: () => bridge.health(),
      // The bridge sends the last words (offline statuses) once they have gone through the broker.
      stop: async () => {
        await env.broker.drain();
        await bridge.close();
      },
    };
  },
};
