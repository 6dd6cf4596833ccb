/**
 * The live events (/api/events, CONTRACT.md "Live events"). EventSource retries by itself while the gateway is
 * unreachable; a refused stream (401 after a gateway restart, 503 with too many clients) ends it for good, so then
 * this checks the session and opens a new one. Every (re)open calls `opened`, which reloads the current state.
 */
import { getJson, parseJson } from './api.js';

const EVENTS = ['readings', 'status', 'alert', 'uplinks'];
const RETRY_MS = 3000;

export function follow({ opened, lost, event }) {
  let source;
  const open = () => {
    source = new EventSource('/api/events');
    source.onopen = () => opened();
    for (const name of EVENTS) source.addEventListener(name, (message) => event(name, parseJson(message.data)));
    source.onerror = () => {
      lost();
      if (source.readyState === EventSource.CLOSED) setTimeout(recheck, RETRY_MS);
    };
  };
  const recheck = async () => {
    try {
      await getJson('/api/session'); // a 401 goes to the login form
      open();
    } catch {
      setTimeout(recheck, RETRY_MS);
    }
  };
  open();
}
