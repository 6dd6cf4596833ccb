import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Logger } from '../util/log.js';
import { isLoopback, type ListenerConfig } from './config.js';

export interface BoundListener {
  readonly type: ListenerConfig['type'];
  readonly host: string;
  readonly port: number;
  /** mqtt://, mqtts://, ws:// or wss:// with the bound address. */
  readonly url: string;
  /** Bound to loopback only: the one place anonymous clients may be let in. */
  readonly loopback: boolean;
  readonly clientCertificates: 'none' | 'optional' | 'require';
}

/** Where a connection came from, for the login decision. */
export interface ConnectionOrigin {
  readonly listener: BoundListener;
  /** The common name of a client certificate the listener's CA verified. */
  readonly certificateUser?: string;
  readonly remoteAddress?: string;
}

export type ConnectionHandler = (stream: Duplex, origin: ConnectionOrigin) => void;

/** A running listener: its address and how to stop it. */
export interface OpenListener {
  readonly bound: BoundListener;
  /** Stops accepting; resolves once every connection it accepted has ended. */
  close(): Promise<void>;
}

/**
 * Opens the configured MQTT listeners (TCP, TLS, WebSocket) and hands every accepted connection, with where it came
 * from, to `handle`. Server certificates are read once here; a bad file fails the start with its path named.
 */
export async function openListeners(configs: readonly ListenerConfig[], handle: ConnectionHandler, log: Logger): Promise<OpenListener[]> {
  const open: OpenListener[] = [];
  try {
    for (const config of configs) {
      const listener = await openListener(config, handle, log);
      open.push(listener);
      log.info('MQTT listener ready', { url: listener.bound.url, client_certificates: listener.bound.clientCertificates });
    }
  } catch (error) {
    await Promise.all(open.map((listener) => listener.close()));
    throw error;
  }
  return open;
}

async function openListener(config: ListenerConfig, handle: ConnectionHandler, log: Logger): Promise<OpenListener> {
  const clientCertificates = config.type === 'tcp' ? 'none' : config.client_certificates;
  const tls = config.type === 'tls' || (config.type === 'ws' && config.cert !== undefined) ? tlsOptions(config) : undefined;
  let bound: BoundListener | undefined;
  const origin = (socket: Socket): ConnectionOrigin => ({ listener: bound!, certificateUser: certificateUser(socket), remoteAddress: socket.remoteAddress });

  let server: Server;
  let stopWebSockets = (): void => {};
  if (config.type === 'ws') {
    const http = tls ? createHttpsServer(tls) : createHttpServer();
    // MQTT over WebSocket [MQTT-6.0.0]: binary frames, subprotocol "mqtt" (older clients say "mqttv3.1").
    const wss = new WebSocketServer({ server: http, path: config.path, perMessageDeflate: false, handleProtocols: (protocols) => [...protocols].find((p) => p.startsWith('mqtt')) ?? false });
    // ws re-emits the HTTP server's errors here: with no listener, one would end the process.
    wss.on('error', (error) => log.error('MQTT WebSocket listener error', { listener: bound?.url, error }));
    wss.on('connection', (socket, request: IncomingMessage) => {
      (request.socket as Socket).setNoDelay(true);
      handle(createWebSocketStream(socket), origin(request.socket as Socket));
    });
    stopWebSockets = () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
    };
    server = http;
  } else {
    // noDelay: without it Nagle + delayed ACK add ~40 ms to every QoS 1 round trip.
    const onSocket = (socket: Socket): void => handle(socket, origin(socket));
    server = tls ? createTlsServer(tls, onSocket) : createNetServer({ noDelay: true }, onSocket);
    if (tls) server.on('secureConnection', (socket: TLSSocket) => socket.setNoDelay(true));
  }
  // A client whose TLS handshake fails (wrong CA, no certificate where one is required) never reaches MQTT.
  server.on('tlsClientError', () => {});
  server.listen(config.port, config.host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
  } catch (error) {
    throw new Error(`cannot listen for MQTT on ${config.type} ${config.host}:${config.port}: ${(error as Error).message}`, { cause: error });
  }
  // From now on an error (EMFILE on accept, say) is logged and the listener keeps serving the connections it has.
  server.on('error', (error) => log.error('MQTT listener error', { listener: bound?.url, error }));
  const address = server.address() as AddressInfo;
  bound = {
    type: config.type,
    host: address.address,
    port: address.port,
    url: `${schemeOf(config.type, tls !== undefined)}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}${config.type === 'ws' ? config.path : ''}`,
    loopback: isLoopback(address.address),
    clientCertificates,
  };
  return {
    bound,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      stopWebSockets();
      return closed;
    },
  };
}

function schemeOf(type: ListenerConfig['type'], tls: boolean): string {
  if (type === 'ws') return tls ? 'wss' : 'ws';
  return type === 'tls' ? 'mqtts' : 'mqtt';
}

function tlsOptions(config: Exclude<ListenerConfig, { type: 'tcp' }>): TlsOptions {
  const read = (key: 'cert' | 'key' | 'ca'): Buffer | undefined => {
    const path = config[key];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read the ${config.type} listener's ${key} ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  return {
    cert: read('cert'),
    key: read('key'),
    ca: read('ca'),
    requestCert: config.client_certificates !== 'none',
    // optional: an unverified certificate does not stop the handshake; the client must then log in with a password.
    rejectUnauthorized: config.client_certificates === 'require',
    minVersion: 'TLSv1.2',
  };
}

/** The CN of a client certificate verified by the listener's CA, if any. */
function certificateUser(socket: Socket): string | undefined {
  const tls = socket as TLSSocket;
  if (typeof tls.getPeerCertificate !== 'function' || !tls.authorized) return undefined;
  const cn = tls.getPeerCertificate().subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}
