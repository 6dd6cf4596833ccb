import type { Writable } from 'node:stream';

/**
 * Makes whatever is written to `stream` within one turn of the event loop go out in one system call. mqtt-packet
 * corks a socket per packet only until the next microtask, so a burst of messages — deliveries to a subscriber,
 * PUBACKs to a publisher, publishes to the upstream broker — would otherwise cost one `writev` per packet; corked
 * until the next macrotask, it costs one per turn. The delay is that of one turn (well under a millisecond idle).
 */
export function coalesceWrites(stream: Writable): void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      stream.cork();
      setImmediate(uncork);
    }
    return write(...args);
  }) as Writable['write'];
}
