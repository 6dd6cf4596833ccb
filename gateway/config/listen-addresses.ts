import { isIP } from 'node:net';

/** A socket the gateway listens on, and where the config declares it. */
export interface ListenAddress {
  readonly at: string;
  readonly host: string;
  readonly port: number;
}

export interface PortClash<T extends ListenAddress> {
  /** The later of the two declarations, where the problem is reported. */
  readonly address: T;
  readonly taken: T;
}

/**
 * Pairs of listen addresses that cannot both bind: the second would fail with EADDRINUSE at start. Port 0 asks the
 * kernel for any free port, so it never clashes; the wildcard addresses take their port on every address.
 */
export function findPortClashes<T extends ListenAddress>(addresses: readonly T[]): PortClash<T>[] {
  const clashes: PortClash<T>[] = [];
  addresses.forEach((address, index) => {
    if (address.port === 0) return;
    const taken = addresses.slice(0, index).find((earlier) => earlier.port === address.port && hostsOverlap(earlier.host, address.host));
    if (taken) clashes.push({ address, taken });
  });
  return clashes;
}

/** What binding the address takes, as a note for a message: "0.0.0.0" means every IPv4 address, for instance. */
export function describeHost(host: string): string {
  if (host === '::') return ', which listens on every address';
  if (host === '0.0.0.0') return ', which listens on every IPv4 address';
  return '';
}

function hostsOverlap(a: string, b: string): boolean {
  const left = addressesOf(a);
  const right = addressesOf(b);
  return left.some((x) => right.some((y) => x === y || covers(x, y) || covers(y, x)));
}

/** `::` is dual-stack in Node (it takes IPv4 too); `0.0.0.0` takes every IPv4 address and any name that resolves to one. */
function covers(wildcard: string, host: string): boolean {
  return wildcard === '::' || (wildcard === '0.0.0.0' && isIP(host) !== 6);
}

/** `localhost` binds 127.0.0.1 or ::1, depending on the resolver: it overlaps either. */
function addressesOf(host: string): string[] {
  return host === 'localhost' ? ['127.0.0.1', '::1'] : [host];
}
