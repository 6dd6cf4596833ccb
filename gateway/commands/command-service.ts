import type { Client, PublishPacket } from 'aedes';
import type { WriteOutcome } from '../../drivers/driver.js';
import type { Broker, ClientInfo } from '../broker/broker.js';
import { exactJson } from '../contract/json.js';
import { commandEventPayload, commandResultPayload, type CommandEventPayload, type CommandPayload, type CommandResultPayload, type CommandSender } from '../contract/payloads.js';
import type { Topics } from '../contract/topics.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { AuditLog } from './audit-log.js';
import { parseCommand, parseCommandBytes, staleness, type CommandProblem } from './command-payload.js';

/** The driver that polls a device, as the command service sees it. */
export interface CommandTarget {
  /** Its name (`modbus-tcp`), for messages. */
  readonly driver: string;
  /** Absent for drivers whose devices take no commands (a serial line). */
  readonly write?: (device: string, point: string, value: unknown) => Promise<WriteOutcome>;
}

export interface CommandServiceOptions {
  readonly topics: Topics;
  readonly broker: Broker;
  /** The driver polling the device; undefined for devices no driver polls (MQTT devices answer their commands themselves). */
  readonly targetOf: (device: string) => CommandTarget | undefined;
  /** Who commands arriving from the platform through the bridge are. */
  readonly upstream: { readonly user: string; readonly role: string };
  readonly maxAgeMs: number;
  readonly maxPending: number;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface CommandStats {
  /** Commands to devices the gateway polls, from MQTT, the platform and HTTP. */
  readonly received: number;
  readonly succeeded: number;
  /** Refused or failed, for any reason (the reason is in the result, the audit and the log). */
  readonly failed: number;
  /** Among the failed: retained commands, never carried out. */
  readonly retained: number;
  /** Among the failed: commands older than commands.max_age. */
  readonly stale: number;
  /** Among the failed: refused because commands.max_pending were already waiting for the device. */
  readonly busy: number;
  /** Waiting for their device now. */
  readonly pending: number;
  /** Audit lines that could not be written (a full disk). */
  readonly auditFailures: number;
}

const LOG_INTERVAL_MS = 10_000;

/**
 * Carries out commands to the points of devices the gateway polls: `{root}/command/{device}/{point}` from local clients
 * the ACL lets command (operator, internal), from the platform through the bridge, and POST /api/devices/.../points/...
 * over HTTP. Who sent a command comes from its login, never from its payload. A retained command is never carried out,
 * nor one older than commands.max_age. The device's driver writes the point and reads it back; the outcome is
 * published on `.../result`, appended to the audit log and published on `{root}/events/commands`. Commands to devices
 * no driver polls (MQTT devices) are only relayed by the broker, as before: such a device answers itself.
 */
export class CommandService {
  private readonly pending = new Map<string, number>();
  private readonly counts = { received: 0, succeeded: 0, failed: 0, retained: 0, stale: 0, busy: 0 };
  private readonly running = new Set<Promise<unknown>>();
  private readonly refusals: LogLimiter;
  private unwatch: (() => void) | undefined;
  private readonly commandHead: string;

  constructor(private readonly opts: CommandServiceOptions) {
    this.refusals = new LogLimiter(opts.log, LOG_INTERVAL_MS);
    this.commandHead = opts.topics.command('', '').slice(0, -1);
  }

  start(): void {
    const { broker, topics } = this.opts;
    const unwatch = broker.watchPublishes(topics.commandFilter, (client, topic, payload, retain) => this.fromClient(client, topic, payload, retain));
    // The bridge publishes the platform's commands inside the gateway, past the client gate: aedes tells those apart
    // by their missing client. Nothing else of the gateway publishes on a command topic.
    const onPublish = (packet: PublishPacket, client: Client | null): void => {
      if (client || !packet.topic.startsWith(this.commandHead)) return;
      this.fromUpstream(packet);
    };
    broker.aedes.on('publish', onPublish);
    this.unwatch = () => {
      unwatch();
      broker.aedes.off('publish', onPublish);
    };
  }

  /** Stops taking commands; resolves once those under way are answered and audited. */
  async stop(): Promise<void> {
    this.unwatch?.();
    this.unwatch = undefined;
    await Promise.allSettled([...this.running]);
    await this.opts.audit.flush();
  }

  stats(): CommandStats {
    let pending = 0;
    for (const count of this.pending.values()) pending += count;
    return { ...this.counts, pending, auditFailures: this.opts.audit.failures };
  }

  /**
   * A command over HTTP: carried out as one over MQTT would be, its result also published on `.../result`. Undefined
   * when no driver polls the device (it is not the gateway's to write).
   */
  submit(sender: CommandSender, device: string, point: string, body: unknown): Promise<CommandResultPayload> | undefined {
    const target = this.opts.targetOf(device);
    if (!target) return undefined;
    return this.track(this.execute(sender, target, device, point, parseCommand(body), false));
  }

  private fromClient(client: ClientInfo, topic: string, payload: Buffer, retain: boolean): void {
    const address = this.commandAddress(topic);
    const target = address && this.opts.targetOf(address.device);
    // An empty retained message clears a retained one (what the refusal of a retained command asks for): no command.
    if (!address || !target || (retain && payload.length === 0)) return;
    const sender: CommandSender = { user: client.identity.user, role: client.identity.role, client: client.id, via: 'mqtt' };
    void this.track(this.execute(sender, target, address.device, address.point, parseCommandBytes(payload), retain));
  }

  private fromUpstream(packet: PublishPacket): void {
    const address = this.commandAddress(packet.topic);
    const target = address && this.opts.targetOf(address.device);
    if (!address || !target) return;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const sender: CommandSender = { ...this.opts.upstream, client: 'bridge', via: 'upstream' };
    void this.track(this.execute(sender, target, address.device, address.point, parseCommandBytes(payload), packet.retain));
  }

  private commandAddress(topic: string): { device: string; point: string } | undefined {
    const parsed = this.opts.topics.parse(topic);
    return parsed?.kind === 'command' ? { device: parsed.device, point: parsed.point } : undefined;
  }

  /** Keeps the command in `running` until it settles; it never rejects (execute answers every failure). */
  private track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
    return work;
  }

  private async execute(sender: CommandSender, target: CommandTarget, device: string, point: string, command: CommandPayload | CommandProblem, retained: boolean): Promise<CommandResultPayload> {
    this.counts.received++;
    const { id } = command;
    const outcome = await this.outcome(target, device, point, command, retained);
    const ts = this.opts.clock.now();
    const result: CommandResultPayload = outcome.ok ? { ok: true, value: outcome.value, ts: outcome.ts, ...(id ? { id } : {}) } : { ok: false, error: outcome.error, ...(id ? { id } : {}) };
    if (outcome.ok) this.counts.succeeded++;
    else this.counts.failed++;
    const event: CommandEventPayload = {
      ts,
      ...sender,
      device,
      point,
      value: 'value' in command ? command.value : null,
      id: id ?? null,
      ok: outcome.ok,
      before: outcome.before ?? null,
      after: outcome.ok ? outcome.value : (outcome.after ?? null),
      error: outcome.ok ? null : outcome.error,
    };
    this.report(event);
    const line = commandEventPayload(event);
    await Promise.all([
      this.opts.audit.append(line),
      this.publish(this.opts.topics.commandResult(device, point), commandResultPayload(result)),
      this.publish(this.opts.topics.commandEvents, line),
    ]);
    return result;
  }

  private async outcome(target: CommandTarget, device: string, point: string, command: CommandPayload | CommandProblem, retained: boolean): Promise<WriteOutcome> {
    if (retained) {
      this.counts.retained++;
      return { ok: false, error: 'a retained command is never carried out (it would run again for every new subscriber): publish it with retain off' };
    }
    if ('error' in command) return { ok: false, error: command.error };
    const stale = staleness(command.ts, this.opts.clock.now(), this.opts.maxAgeMs);
    if (stale) {
      this.counts.stale++;
      return { ok: false, error: stale };
    }
    if (!target.write) return { ok: false, error: `device ${device} (${target.driver}) takes no commands` };
    const waiting = this.pending.get(device) ?? 0;
    if (waiting >= this.opts.maxPending) {
      this.counts.busy++;
      return { ok: false, error: `device ${device} is busy: ${waiting} commands are waiting for it (commands.max_pending)` };
    }
    this.pending.set(device, waiting + 1);
    try {
      return await target.write(device, point, command.value);
    } catch (error) {
      // A driver answers its own failures; anything else is a bug of ours, told to the operator as a failure.
      this.opts.log.error('write failed unexpectedly', { device, point, error });
      return { ok: false, error: `write failed: ${(error as Error).message}` };
    } finally {
      const left = (this.pending.get(device) ?? 1) - 1;
      if (left > 0) this.pending.set(device, left);
      else this.pending.delete(device);
    }
  }

  private report(event: CommandEventPayload): void {
    const fields = { device: event.device, point: event.point, value: exactJson(event.value), user: event.user, role: event.role, client: event.client, via: event.via, before: exactJson(event.before), after: exactJson(event.after) };
    if (event.ok) this.opts.log.info('command carried out', fields);
    else this.refusals.warn(`${event.client} ${event.device}/${event.point}`, 'command not carried out', { ...fields, error: event.error });
  }

  private async publish(topic: string, payload: string): Promise<void> {
    try {
      await this.opts.broker.publish(topic, payload, 1, false);
    } catch (error) {
      this.refusals.error(`publish ${topic}`, 'cannot publish a command result', { topic, error });
    }
  }
}
