/** A name that can stand as a topic level, an Influx tag value and a field name: no '/', '+', '#', spaces or controls. */
export const levelName = /^[A-Za-z0-9_.-]+$/;

/**
 * The first topic levels below `{prefix}/{site}/` that the gateway's own topics use (CONTRACT.md, "Reserved names").
 * No domain, device or metric may take one: a domain would put readings `{domain}/{device}/{metric}` on a gateway
 * topic (a forged status, alert or command); devices and metrics are kept clear too, so a name means one thing
 * wherever it stands (device-level alerts already use the metric `status`).
 */
export const reservedLevels = ['status', 'alerts', 'events', 'clients', 'ingest', 'command'] as const;

const reserved: ReadonlySet<string> = new Set(reservedLevels);
const reservedList = `${reservedLevels.slice(0, -1).join(', ')} or ${reservedLevels.at(-1) ?? ''}`;

export function isReservedLevel(name: string): boolean {
  return reserved.has(name);
}

/** Why a name cannot be used, and what to do instead, for config errors and ingest refusals. */
export function reservedProblem(name: string, instead = 'choose another name'): string {
  return `"${name}" is reserved for the gateway's own topics (no domain, device or metric may be ${reservedList}); ${instead}`;
}
