/**
 * A line-protocol reader written from InfluxDB 1.x's parser (models/points.go), independent of the gateway's
 * encoder: scanning treats a backslash as escaping the next character; unescaping then turns `\,` `\ ` `\=` (tags,
 * field keys), `\,` `\ ` (measurement) and `\"` `\\` (string fields) back into the characters.
 */
export interface ReadLine {
  readonly measurement: string;
  readonly tags: Record<string, string>;
  readonly field: string;
  readonly value: string | number | boolean;
  readonly ts: number;
}

export function readLine(line: string): ReadLine {
  if (/[\n]/.test(line)) throw new Error('a line break inside the line');
  const [head, afterHead] = scanUntil(line, 0, ' ');
  const parts = splitUnescaped(head, ',');
  const measurement = parts[0]!.replace(/\\([, ])/g, '$1');
  const tagEntries: [string, string][] = [];
  for (const part of parts.slice(1)) {
    const [key, value] = splitUnescaped(part, '=');
    if (key === undefined || value === undefined || key === '' || value === '') throw new Error(`a bad tag ${part}`);
    tagEntries.push([unescapeTag(key), unescapeTag(value)]);
  }
  // fromEntries defines own properties, so a tag named __proto__ is read as a tag, not as the prototype.
  const tags: Record<string, string> = Object.fromEntries(tagEntries);
  const [fieldKey, afterKey] = scanUntil(line, afterHead, '=');
  let at = afterKey;
  let value: string | number | boolean;
  if (line[at] === '"') {
    let text = '';
    for (at++; line[at] !== '"'; at++) {
      if (at >= line.length) throw new Error('an unterminated string');
      if (line[at] === '\\' && (line[at + 1] === '"' || line[at + 1] === '\\')) at++;
      text += line[at];
    }
    value = text;
    at++;
  } else {
    const [raw, next] = scanUntil(line, at, ' ');
    value = raw === 'true' ? true : raw === 'false' ? false : Number(raw);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`a bad number ${raw}`);
    at = next - 1;
  }
  if (line[at] !== ' ') throw new Error('no space before the timestamp');
  const ts = Number(line.slice(at + 1));
  if (!Number.isInteger(ts)) throw new Error('a bad timestamp');
  return { measurement, tags, field: unescapeTag(fieldKey), value, ts };
}

function unescapeTag(text: string): string {
  return text.replace(/\\([,= ])/g, '$1');
}

/** The text from `from` to the first unescaped `stop`, and the index after that stop. */
function scanUntil(line: string, from: number, stop: string): [string, number] {
  for (let i = from; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === stop) return [line.slice(from, i), i + 1];
  }
  throw new Error(`no "${stop}" after position ${from}`);
}

function splitUnescaped(text: string, by: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === by) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
