/** Calls to the gateway's API with the session cookie; a lost session sends the browser to the login form. */

export class HttpError extends Error {
  constructor(path, status, reason) {
    super(`${path}: ${status} ${reason}`);
    this.status = status;
  }
}

/**
 * JSON.parse, except that an integer beyond 2^53 (a 64-bit counter: the gateway publishes its exact digits) becomes a
 * BigInt instead of the nearest double, where the browser hands revivers the source text (Chromium 114, Firefox 135).
 */
export function parseJson(text) {
  return JSON.parse(text, (key, value, context) => (typeof value === 'number' && !Number.isSafeInteger(value) && /^-?\d+$/.test(context?.source ?? '') ? BigInt(context.source) : value));
}

/** GET a JSON answer; `accept` lists statuses besides 200 whose JSON is an answer too (503 of /readyz). */
export async function getJson(path, accept = []) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (res.status === 401) toLogin();
  if (res.ok || accept.includes(res.status)) return parseJson(await res.text());
  throw new HttpError(path, res.status, await reason(res));
}

/** Acknowledges an active alert in the logged-in user's name (the gateway records who). */
export async function acknowledge(alert) {
  const path = `/api/alerts/${[alert.rule, alert.device, alert.metric].map(encodeURIComponent).join('/')}/ack`;
  const res = await fetch(path, { method: 'POST' });
  if (res.status === 401) toLogin();
  if (!res.ok) throw new HttpError(path, res.status, await reason(res));
  return parseJson(await res.text());
}

export function toLogin() {
  location.assign('/login');
}

async function reason(res) {
  try {
    return (await res.json()).reason ?? res.statusText;
  } catch {
    return res.statusText;
  }
}
