import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

const gzipAsync = promisify(gzip);

/** Bodies smaller than this go as they are: gzip's header and the CPU would cost more than they save. */
const MIN_GZIP_BYTES = 1024;

/** A body ready to send: as it is and gzipped, with its ETag. */
export interface Prepared {
  readonly type: string;
  readonly plain: Buffer;
  readonly gzipped: Buffer | undefined;
  readonly etag: string;
}

export async function prepare(body: Buffer | string, type: string): Promise<Prepared> {
  const plain = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const gzipped = plain.length >= MIN_GZIP_BYTES ? await gzipAsync(plain, { level: 9 }) : undefined;
  return { type, plain, gzipped, etag: `"${createHash('sha256').update(plain).digest('base64url').slice(0, 22)}"` };
}

/**
 * Sends a prepared body: gzipped when the client takes it, 304 when the client holds this very version. The status
 * page runs on phones over mobile links, and fastify compresses nothing by itself.
 */
export function sendPrepared(request: FastifyRequest, reply: FastifyReply, body: Prepared, cacheControl: string): FastifyReply {
  void reply.header('cache-control', cacheControl).header('etag', body.etag).header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === body.etag) return reply.code(304).send();
  void reply.type(body.type);
  if (body.gzipped && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(body.gzipped);
  return reply.send(body.plain);
}
