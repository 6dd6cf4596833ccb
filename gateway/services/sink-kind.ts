import type { z } from 'zod';
import type { Broker } from '../broker/broker.js';
import type { ReadingTaps } from '../broker/reading-publisher.js';
import type { ConfigContext } from '../config/context.js';
import type { Topics } from '../contract/topics.js';
import type { Sink } from '../pipeline/sink.js';
import type { Logger } from '../util/log.js';

/** What an output is given when it starts. */
export interface SinkEnvironment {
  readonly site: string;
  readonly dataDir: string;
  readonly topics: Topics;
  readonly broker: Broker;
  /** Every reading as published on MQTT, encoded once, whether or not a client subscribes. */
  readonly readings: ReadingTaps;
  /** The ACL's verdict for a message arriving from upstream, published locally as an operator's would be. */
  readonly mayRouteDown: (localTopic: string) => boolean;
  readonly log: Logger;
}

/** A started output: what it consumes, how it is doing, how it stops. */
export interface RunningSink {
  /** Its consumer of readings, for the pipeline (outputs that take from the broker have none). */
  readonly sink?: Sink;
  health(): unknown;
  stop(): Promise<void>;
}

/**
 * An output of the gateway (InfluxDB, the upstream bridge), registered by name in gateway/plugins.ts: its config
 * section (the same name), and how it starts. Adding an output is its folder plus one registry line.
 */
export interface SinkKind<Config> {
  /** Its config section and its part's name. */
  readonly name: string;
  readonly schema: z.ZodType<Config>;
  /**
   * `readings`: a consumer of the pipeline, started once the rules and the MQTT publisher are in place. `broker`: it
   * takes what it sends from the broker, so it starts right after the broker and stops only after the pipeline has
   * flushed, and the last words (devices going offline at shutdown) still reach it.
   */
  readonly takes: 'readings' | 'broker';
  /** The durable buffer QoS 1 acknowledgements rely on: failing to start fails the gateway's start. */
  readonly essential: boolean;
  /** Completes a validated section (file paths made absolute); problems go to `ctx`. */
  resolve?(config: Config, ctx: ConfigContext): Config;
  start(config: Config, env: SinkEnvironment): Promise<RunningSink>;
}

/** An output kind among kinds of every config type. */
export interface RegisteredSinkKind {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly takes: 'readings' | 'broker';
  readonly essential: boolean;
  resolve(config: unknown, ctx: ConfigContext): unknown;
  start(config: unknown, env: SinkEnvironment): Promise<RunningSink>;
}

/** Registers an output: its typed parts are called only with the section its own schema parsed in the root schema. */
export function registerSinkKind<Config>(kind: SinkKind<Config>): RegisteredSinkKind {
  const own = (config: unknown) => config as Config;
  return {
    name: kind.name,
    schema: kind.schema,
    takes: kind.takes,
    essential: kind.essential,
    resolve: (config, ctx) => (kind.resolve ? kind.resolve(own(config), ctx) : config),
    start: (config, env) => kind.start(own(config), env),
  };
}
