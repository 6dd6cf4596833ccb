'use strict';
/**
 * The gateway's MQTT contract (CONTRACT.md) as these nodes need it: names, topics, selectors and the ingest rules.
 * Node-RED loads this package on its own, without the gateway's TypeScript, so the rules are restated here; a test
 * (test/property/nodered-ingest-parity.test.ts) holds them to the gateway's own ingest validation.
 */

/** A topic level: a domain, device, metric, rule or point name. */
const levelName = /^[A-Za-z0-9_.-]+$/;
/** First levels of the gateway's own topics: no domain, device or metric may take one. */
const reservedLevels = ['status', 'alerts', 'events', 'clients', 'ingest', 'command'];
const maxMetricNameLength = 128;
const maxUnitLength = 32;
// Epoch milliseconds below this are before 1973; epoch seconds stay below it until the year 5138.
const secondsBelow = 1e11;
const qualities = ['good', 'uncertain', 'bad'];

function isReserved(name) {
  return reservedLevels.includes(name);
}

/** Why `name` cannot stand as the given topic level (domain, device, metric, point), or undefined. */
function nameProblem(what, name) {
  if (typeof name !== 'string' || name === '') return `${what} is missing`;
  if (!levelName.test(name)) return `${what} ${JSON.stringify(name)} must be letters, digits, "_", "-" or "." (it is an MQTT topic level)`;
  if (isReserved(name)) return `${what} ${JSON.stringify(name)} is reserved for the gateway's own topics (${reservedLevels.join(', ')})`;
  return undefined;
}

const topics = {
  reading: (root, domain, device, metric) => `${root}/${domain}/${device}/${metric}`,
  ingest: (root, domain, device) => `${root}/ingest/${domain}/${device}`,
  command: (root, device, point) => `${root}/command/${device}/${point}`,
  commandResult: (root, device, point) => `${root}/command/${device}/${point}/result`,
  alertEvents: (root) => `${root}/events/alerts`,
  alertState: (root, rule, device, metric) => `${root}/alerts/${rule}/${device}/${metric}`,
  /** A client id is free text: it stands percent-encoded in the topic. */
  clientErrors: (root, clientId) => `${root}/clients/${encodeURIComponent(clientId)}/errors`,
};

/** The domain, device and metric of a reading topic under `root`, or undefined for any other topic. */
function parseReadingTopic(root, topic) {
  if (!topic.startsWith(`${root}/`)) return undefined;
  const levels = topic.slice(root.length + 1).split('/');
  if (levels.length !== 3 || isReserved(levels[0])) return undefined;
  return { domain: levels[0], device: levels[1], metric: levels[2] };
}

/** Whether an MQTT topic filter (with `+` and `#`) matches a topic. */
function filterMatches(filter, topic) {
  const want = filter.split('/');
  const have = topic.split('/');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '#') return true;
    if (i >= have.length || (want[i] !== '+' && want[i] !== have[i])) return false;
  }
  return want.length === have.length;
}

/**
 * A selector for one topic level, as an operator writes it: empty, `+` or `*` for any; else names or globs (`pump-*`)
 * separated by commas. `level` is what an MQTT subscription can use: the one literal name, or `+`.
 */
function levelSelector(text) {
  const parts = String(text ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0 || parts.some((part) => part === '+' || part === '*')) return { level: '+', matches: () => true, problem: undefined };
  const bad = parts.find((part) => !/^[A-Za-z0-9_.*-]+$/.test(part));
  if (bad !== undefined) return { level: '+', matches: () => false, problem: `${JSON.stringify(bad)} is no name or glob (letters, digits, "_", "-", "." and "*")` };
  const patterns = parts.map((part) => new RegExp(`^${part.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`));
  const single = parts.length === 1 && !parts[0].includes('*') ? parts[0] : undefined;
  return { level: single ?? '+', matches: (name) => patterns.some((pattern) => pattern.test(name)), problem: undefined };
}

/** Why a reading value is not one the gateway takes (finite number, boolean, string), or undefined. */
function valueProblem(value) {
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `value must be a finite number (got ${value})`;
    default:
      return `value must be a finite number, a boolean or a string (got ${describe(value)})`;
  }
}

/**
 * Why one metric of an ingest payload would be refused, or undefined: the checks ingest makes that need no gateway
 * settings. String length, metric count and ts age are limits of the gateway's config, which it reports itself on
 * the client error topic.
 */
function metricProblem(name, raw) {
  if (name.length > maxMetricNameLength || !levelName.test(name)) {
    return `metric ${JSON.stringify(name)}: name must be 1 to ${maxMetricNameLength} letters, digits, "_", "-" or "."`;
  }
  if (isReserved(name)) return `metric ${JSON.stringify(name)} is reserved for the gateway's own topics (${reservedLevels.join(', ')})`;
  const problem = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? objectProblem(raw) : valueProblem(raw);
  return problem === undefined ? undefined : `metric ${JSON.stringify(name)}: ${problem}`;
}

function objectProblem(fields) {
  const unknown = Object.keys(fields).filter((key) => !['value', 'unit', 'ts', 'quality'].includes(key));
  if (unknown.length > 0) return `unknown keys ${unknown.map((key) => JSON.stringify(key)).join(', ')} (allowed: value, unit, ts, quality)`;
  if (fields.value === undefined) return 'the object has no "value"';
  const problem = valueProblem(fields.value);
  if (problem !== undefined) return problem;
  if (fields.unit !== undefined && (typeof fields.unit !== 'string' || fields.unit.length > maxUnitLength)) {
    return `unit must be a string of at most ${maxUnitLength} characters`;
  }
  if (fields.quality !== undefined && !qualities.includes(fields.quality)) return `quality must be "good", "uncertain" or "bad"`;
  if (fields.ts !== undefined) {
    if (typeof fields.ts !== 'number' || !Number.isFinite(fields.ts)) return 'ts must be epoch milliseconds as a number';
    if (Math.round(fields.ts) < secondsBelow) return `ts ${fields.ts} looks like seconds: send epoch milliseconds`;
  }
  return undefined;
}

/**
 * An ingest payload object (metric name → bare value or {value, unit?, ts?, quality?}) judged as the gateway judges
 * it: each metric alone, so the valid ones can still go; `problems` says why the others cannot.
 */
function judgeIngest(metrics) {
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    return { accepted: {}, problems: [`payload must be an object of metric: value (got ${describe(metrics)})`] };
  }
  const entries = [];
  const problems = [];
  for (const name of Object.keys(metrics)) {
    const problem = metricProblem(name, metrics[name]);
    if (problem === undefined) entries.push([name, metrics[name]]);
    else problems.push(problem);
  }
  if (Object.keys(metrics).length === 0) problems.push('no metrics: the payload is an empty object');
  // fromEntries defines own properties: a metric named "__proto__" stays a metric.
  return { accepted: Object.fromEntries(entries), problems };
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  return typeof value === 'object' ? 'an object' : String(value);
}

module.exports = { levelName, reservedLevels, nameProblem, topics, parseReadingTopic, filterMatches, levelSelector, valueProblem, judgeIngest };
