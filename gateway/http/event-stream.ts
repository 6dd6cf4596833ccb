import type { ServerResponse } from 'node:http';
import { exactJson } from '../contract/json.js';
import type { Reading } from '../model.js';
import type { Logger } from '../util/log.js';

/** Named events besides reading batches waiting for a client; more and the client is too slow to keep: it is cut off. */
const MAX_QUEUED_EVENTS = 1000;

export interface EventStreamStats {
  readonly clients: number;
  /** Clients refused because `max_clients` were connected. */
  readonly refused: number;
  /** Reading updates replaced by a newer value of their series before a client could take them. */
  readonly coalesced: number;
  /** Clients cut off because they did not read their events (the named events queued beyond the bound). */
  readonly slowDisconnects: number;
}

interface Client {
  readonly res: ServerResponse;
  /** The newest reading of each series not yet sent: a slow client gets the latest value, never a backlog. */
  readonly readings: Map<string, Reading>;
  readonly queued: string[];
}

/**
 * Server-sent events (/api/events) for the status page: reading updates coalesced per series and sent at most
 * `maxRate` batches a second, device status and alert changes, a periodic uplink summary. What a client cannot take
 * (its socket is not writable) waits as the latest value per series, so a phone on a slow link costs the gateway at
 * most one reading per series, never an unbounded buffer.
 */
export class EventStream {
  private readonly clients = new Set<Client>();
  private readonly timer: NodeJS.Timeout;
  private readonly counts = { refused: 0, coalesced: 0, slowDisconnects: 0 };

  constructor(
    private readonly opts: { readonly maxRate: number; readonly maxClients: number },
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.flush(), 1000 / opts.maxRate);
    this.timer.unref();
  }

  /** Takes a response as an event stream; false when there are too many clients already. */
  open(res: ServerResponse, user: string): boolean {
    if (this.clients.size >= this.opts.maxClients) {
      this.counts.refused++;
      return false;
    }
    const client: Client = { res, readings: new Map(), queued: [] };
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    res.on('error', (error) => this.log.debug('event stream error', { user, error }));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // Tells EventSource how long to wait before reconnecting after the stream ends.
    res.write('retry: 3000\n\n');
    return true;
  }

  reading(reading: Reading, key: string): void {
    for (const client of this.clients) {
      if (client.readings.has(key)) this.counts.coalesced++;
      client.readings.set(key, reading);
    }
  }

  /** A named event for every client (status, alert, uplinks). */
  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${exactJson(data)}\n\n`;
    for (const client of this.clients) {
      if (client.queued.length >= MAX_QUEUED_EVENTS) this.cutOff(client);
      else client.queued.push(frame);
    }
  }

  stats(): EventStreamStats {
    return { clients: this.clients.size, ...this.counts };
  }

  /** Ends every stream (the server is closing: open streams would hold it forever). */
  close(): void {
    clearInterval(this.timer);
    for (const client of this.clients) client.res.end();
    this.clients.clear();
  }

  private flush(): void {
    for (const client of this.clients) {
      // Not writable: the socket still holds the last batch. Skip; the series keep their newest value meanwhile.
      if (client.res.writableNeedDrain || client.res.destroyed) continue;
      let frames = client.queued.join('');
      client.queued.length = 0;
      if (client.readings.size) {
        frames += `event: readings\ndata: ${exactJson([...client.readings.values()].map(readingPayload))}\n\n`;
        client.readings.clear();
      }
      if (frames) client.res.write(frames);
    }
  }

  private cutOff(client: Client): void {
    this.counts.slowDisconnects++;
    this.clients.delete(client);
    this.log.warn('live events client too slow; disconnected (it reconnects and starts from the latest values)', { queued: client.queued.length });
    client.res.destroy();
  }
}

function readingPayload(reading: Reading) {
  const { device, domain, metric, value, unit, ts, quality } = reading;
  return { device, domain, metric, value, unit, ts, quality };
}
