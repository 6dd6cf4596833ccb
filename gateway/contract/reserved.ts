/**
 * The first topic levels below `{prefix}/{site}/` that the gateway's own topics use (CONTRACT.md, "Reserved names").
 * No domain, device or metric may take one: a reading `{domain}/{device}/{metric}` under them would be mistaken for
 * — or would forge — a status, an alert, a command or a client's errors.
 */
export const reservedLevels = ['status', 'alerts', 'events', 'clients', 'ingest', 'command'] as const;
export type ReservedLevel = (typeof reservedLevels)[number];

const reserved: ReadonlySet<string> = new Set(reservedLevels);

export function isReservedLevel(name: string): boolean {
  return reserved.has(name);
}

/** Why a name cannot be used, for config errors and ingest refusals. */
export function reservedProblem(name: string): string {
  return `"${name}" is reserved: the gateway's own topics use it as a first level (reserved: ${reservedLevels.join(', ')}); choose another name`;
}
