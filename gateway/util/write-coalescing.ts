import type { Writable } from 'node:stream';

/**
 * Returns a function to call before each write to `stream`: whatever is written to it within one turn of the event
 * loop goes out in one system call. mqtt-packet corks a socket per packet only until the next microtask, so a burst
 * of messages would otherwise cost one `writev` per message; corked until the next macrotask, it costs one per turn.
 */
export function coalesceWritesPerTurn(stream: Writable): () => void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  return () => {
    if (corked) return;
    corked = true;
    stream.cork();
    setImmediate(uncork);
  };
}
