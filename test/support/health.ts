import type { BridgeHealth } from '../../gateway/bridge/bridge.js';
import type { Gateway } from '../../gateway/gateway.js';
import type { InfluxSinkHealth } from '../../gateway/influx/influx-sink.js';

/** The InfluxDB output's report in the gateway's health, typed for assertions (undefined without an `influx` section). */
export function influxHealth(gateway: Gateway): InfluxSinkHealth | undefined {
  return gateway.health().sinks.influx as InfluxSinkHealth | undefined;
}

/** The bridge's report in the gateway's health, typed for assertions (undefined without a `bridge` section). */
export function bridgeHealth(gateway: Gateway): BridgeHealth | undefined {
  return gateway.health().sinks.bridge as BridgeHealth | undefined;
}
