import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { EDITOR_TOKEN_HEADER, mintEditorToken, type EditorPermissions } from '../node-red/editor-token.js';
import type { EditorUpstream } from '../node-red/host.js';
import type { HttpIdentity } from './permissions.js';

/** The editor's place on the gateway's HTTP server, as Node-RED's `httpAdminRoot` has it too. */
export const EDITOR_PREFIX = '/red';

/** Headers of the browser that never reach Node-RED: the gateway's own credentials, and any forged token. */
const stripped = ['cookie', 'authorization', EDITOR_TOKEN_HEADER];

/**
 * /red/* proxied to the Node-RED child (HTTP and the editor's WebSocket /red/comms), behind the gateway's own gate:
 * reading (GET, HEAD, the live comms) needs `view_flows` (staff, operator), anything else `edit_flows` (operator).
 * Each request reaches Node-RED with a short-lived token signed with the running child's key, naming the user and
 * their Node-RED permissions (operator `*`, staff `read`): Node-RED checks it (`adminAuth.tokens`) and trusts nothing
 * else, so it keeps its own read-only rules for staff and nobody gets in around the gateway.
 */
export function editorProxy(app: FastifyInstance, upstream: () => EditorUpstream | undefined): void {
  const available = async (_request: FastifyRequest, reply: FastifyReply) => {
    if (!upstream()) await reply.code(503).header('retry-after', '2').send({ error: 'unavailable', reason: 'Node-RED is starting or restarting; try again in a moment' });
  };
  const upstreamUrl = () => upstream()?.url ?? 'http://127.0.0.1:1';
  const token = (request: { readonly identity: HttpIdentity | undefined }): Record<string, string> => {
    const target = upstream();
    const identity = request.identity;
    return target && identity ? { [EDITOR_TOKEN_HEADER]: mintEditorToken(target.tokenKey, { username: identity.user, permissions: editorPermissions(identity) }) } : {};
  };
  const common = {
    upstream: '',
    prefix: EDITOR_PREFIX,
    rewritePrefix: EDITOR_PREFIX,
    preHandler: available,
    http: {},
    replyOptions: {
      getUpstream: upstreamUrl,
      rewriteRequestHeaders: (request: { readonly identity: HttpIdentity | undefined }, headers: IncomingHttpHeaders) => ({ ...withoutStripped(headers), ...token(request) }),
    },
  };
  // The WebSocket to Node-RED gets the token alone (no cookie). `rewriteRequestHeaders` is in the plugin's code and
  // README, not in its types: hence this object of its own.
  const wsClientOptions = { headers: {}, rewriteRequestHeaders: (_headers: IncomingHttpHeaders, request: FastifyRequest) => token(request) };
  // Loaded only where Node-RED runs: the proxy and its HTTP client are the largest part of the HTTP server's memory.
  const httpProxy = import('@fastify/http-proxy');
  void app.register(httpProxy, {
    ...common,
    httpMethods: ['GET', 'HEAD'],
    config: { permission: 'view_flows' },
    websocket: true,
    wsClientOptions,
  });
  void app.register(httpProxy, { ...common, httpMethods: ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], config: { permission: 'edit_flows' } });
}

function editorPermissions(identity: HttpIdentity): EditorPermissions {
  return identity.role === 'operator' ? '*' : 'read';
}

function withoutStripped(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !stripped.includes(name.toLowerCase())));
}
