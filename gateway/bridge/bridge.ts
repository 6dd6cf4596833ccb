import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { queueOptions } from '../buffer/config.js';
import { SegmentQueue } from '../buffer/segment-queue.js';
import type { Logger } from '../util/log.js';
import { CommandRouter } from './commands.js';
import type { BridgeConfig } from './config.js';
import type { BridgeContext } from './context.js';
import { UpstreamForwarder } from './forwarder.js';
import { LocalIntake } from './intake.js';
import { forwardRoutes, TopicMap } from './routes.js';
import { Upstream, type UpstreamOptions, type UpstreamState } from './upstream.js';

export interface BridgeHealth {
  readonly state: UpstreamState;
  /** The central broker's url, without credentials. */
  readonly url: string;
  /** Messages buffered and not yet acknowledged upstream. */
  readonly backlog: number;
  readonly backlogBytes: number;
  /** Messages acknowledged upstream since start. */
  readonly forwarded: number;
  /** Messages dropped because the buffer was full (oldest first) or would not take them. */
  readonly dropped: number;
  /** Commands from upstream published on the local broker. */
  readonly commandsDown: number;
  /** Commands from upstream refused (ACL, or retained). */
  readonly commandsDenied: number;
  readonly lastError: string | undefined;
  /** When the link last came up (epoch ms). */
  readonly lastConnected: number | undefined;
}

/** close(): how long buffered messages may still go up (and wait for acknowledgements) over a live connection. */
const CLOSE_GRACE_MS = 2000;

/**
 * The upstream bridge: selected local topics go to the city platform's central broker through a durable, bounded
 * store-and-forward queue (`dataDir/bridge`), and commands come down from it to local devices within the ACL.
 * Nothing is lost to an outage or a restart: a message leaves the queue only once the central broker has it.
 */
export class Bridge {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly queue: SegmentQueue,
    private readonly intake: LocalIntake,
    private readonly upstream: Upstream,
    private readonly forwarder: UpstreamForwarder,
    private readonly commands: CommandRouter,
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  static async start(config: BridgeConfig, ctx: BridgeContext): Promise<Bridge> {
    const { log } = ctx;
    // Read before anything opens: a missing certificate is a config error, said at start.
    const tls = readTlsFiles(config, ctx.resolvePath);
    const url = withoutCredentials(config.url);
    const map = new TopicMap(ctx.topics.root, config.remote_prefix ?? ctx.topics.root);
    const queue = SegmentQueue.open(join(ctx.dataDir, 'bridge'), queueOptions(config.buffer), log);
    let intake: LocalIntake;
    try {
      intake = await LocalIntake.start(ctx.broker, ctx.readings, forwardRoutes(ctx.topics, config.forward), queue, map, log);
    } catch (error) {
      await queue.close();
      throw error;
    }
    const commands = new CommandRouter(ctx.broker, map, ctx.mayRouteDown, log);
    const options: UpstreamOptions = {
      url: config.url,
      safeUrl: url,
      // The site is the root's last level (`{prefix}/{site}`).
      clientId: config.client_id ?? `gw-${ctx.topics.root.split('/').at(-1)}`,
      username: config.username,
      password: config.password,
      tls,
      keepaliveMs: config.keepalive,
      reconnectMinMs: config.reconnect_min,
      reconnectMaxMs: config.reconnect_max,
      subscription: config.commands ? map.remoteCommandFilter : undefined,
    };
    const upstream = new Upstream(options, (topic, payload, retained) => commands.route(topic, payload, retained), () => queue.stats().backlogLines, log);
    const forwarder = new UpstreamForwarder(queue, upstream, map, { qos: config.qos, inflight: config.inflight }, log);
    upstream.start();
    forwarder.start();
    log.info('bridging to the upstream broker through a durable buffer', {
      url,
      forward: config.forward.join(','),
      remote_root: map.remoteRoot,
      commands: config.commands,
      buffer: queue.dir,
      max_bytes: config.buffer.max_size,
    });
    return new Bridge(queue, intake, upstream, forwarder, commands, url, log);
  }

  health(): BridgeHealth {
    const stats = this.queue.stats();
    return {
      state: this.upstream.state,
      url: this.url,
      backlog: stats.backlogLines,
      backlogBytes: stats.backlogBytes,
      forwarded: this.forwarder.forwarded,
      dropped: stats.droppedLines + this.intake.refused,
      commandsDown: this.commands.routed,
      commandsDenied: this.commands.denied,
      lastError: this.upstream.lastError,
      lastConnected: this.upstream.lastConnected,
    };
  }

  /**
   * Stops within a few seconds: with the link up, what is buffered (the gateway's last words) still goes for up to
   * two seconds; what the central broker has not acknowledged by then stays in the queue for the next start.
   */
  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    await this.intake.stop();
    await this.forwarder.stop(CLOSE_GRACE_MS);
    await this.upstream.close();
    await this.queue.close();
    this.log.info('bridge stopped', { backlog: this.queue.stats().backlogLines });
  }
}

function readTlsFiles(config: BridgeConfig, resolvePath: (path: string) => string): UpstreamOptions['tls'] {
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const path = config[key];
    if (path === undefined) return undefined;
    const resolved = resolvePath(path);
    try {
      return readFileSync(resolved);
    } catch (error) {
      throw new Error(`bridge.${key}: cannot read ${resolved}: ${(error as Error).message}`, { cause: error });
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key'), rejectUnauthorized: config.reject_unauthorized };
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}
