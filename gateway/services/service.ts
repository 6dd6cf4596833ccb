/**
 * A part of the gateway with a lifecycle (the broker, the InfluxDB forwarding, a driver...), as the supervisor runs it.
 * One small interface, so that start order, failure isolation and health are the same for every part.
 */
export interface Service {
  readonly name: string;
  /** Nothing may run without it (the broker, the durable buffer): its failure to start fails the gateway's start. */
  readonly essential: boolean;
  /** Resolves once the part runs; rejects when it cannot (a non-essential part is then retried with backoff). */
  start(): Promise<void>;
  /** Releases what the part holds; resolves when nothing of it is left running. Called only after a start succeeded. */
  stop(): Promise<void>;
}

export type ServiceState = 'starting' | 'running' | 'retrying' | 'stopping' | 'stopped';

/** How a part is doing, as /readyz, /api and /metrics will show it. */
export interface ServiceHealth {
  readonly name: string;
  readonly essential: boolean;
  readonly state: ServiceState;
  /** Why the last start failed, while retrying. */
  readonly error?: string;
  /** Failed starts so far. */
  readonly failedStarts: number;
}

/** A service from its parts; `start` and `stop` default to nothing. */
export function service(name: string, parts: { essential?: boolean; start?: () => Promise<void> | void; stop?: () => Promise<void> | void }): Service {
  return {
    name,
    essential: parts.essential ?? false,
    start: async () => {
      await parts.start?.();
    },
    stop: async () => {
      await parts.stop?.();
    },
  };
}
