/** A command's payload (CONTRACT.md, "Commands"), parsed and judged. Pure. */
import type { CommandPayload } from '../contract/payloads.js';

const MAX_ID_LENGTH = 128;
/** Epoch milliseconds of 2001-09-09: anything smaller is a ts in seconds, or no time at all. */
const MIN_TS_MS = 1e12;

/** Why a command cannot be carried out; its id when it has a valid one, so the sender can match the refusal. */
export interface CommandProblem {
  readonly error: string;
  readonly id?: string;
}

/** The command, or why it cannot be carried out. */
export function parseCommand(body: unknown): CommandPayload | CommandProblem {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'a command is a JSON object like {"value":42}' };
  const { value, ts, id, ...rest } = body as Record<string, unknown>;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH)) return { error: `id is a string of 1 to ${MAX_ID_LENGTH} characters` };
  const problem = (error: string): CommandProblem => ({ error, ...(id === undefined ? {} : { id }) });
  const unknown = Object.keys(rest);
  if (unknown.length) return problem(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => JSON.stringify(key)).join(', ')} (a command has value, and optionally ts and id)`);
  if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'string') return problem('a command needs a value: a number, true/false or a string');
  if (ts !== undefined && (typeof ts !== 'number' || !Number.isInteger(ts) || ts < MIN_TS_MS)) return problem('ts is the send time in epoch milliseconds (an integer)');
  return { value, ...(ts === undefined ? {} : { ts }), ...(id === undefined ? {} : { id }) };
}

/** The command's payload bytes as JSON. */
export function parseCommandBytes(payload: Buffer): CommandPayload | CommandProblem {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return { error: 'payload is not JSON (a command is like {"value":42})' };
  }
  return parseCommand(body);
}

/** Why a command sent at `ts` is too old (or too far ahead, a sender's clock gone wrong) to run now; undefined if fresh. */
export function staleness(ts: number | undefined, now: number, maxAgeMs: number): string | undefined {
  if (ts === undefined) return undefined;
  const age = now - ts;
  if (age > maxAgeMs) return `stale command: sent ${seconds(age)} ago, more than commands.max_age (${seconds(maxAgeMs)})`;
  if (-age > maxAgeMs) return `command ts is ${seconds(-age)} ahead of the gateway's clock, more than commands.max_age (${seconds(maxAgeMs)})`;
  return undefined;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
