/** One framed line to values: checksum, then parser. Pure. */
import { checkLine } from './checksum.js';
import type { SerialLineDeviceConfig } from './config.js';
import { createParser, type LineValue } from './parsers.js';

export type LineProblem = 'malformed' | 'checksum';

export type DecodedLine =
  | { readonly ok: true; readonly values: LineValue[] }
  | { readonly ok: false; readonly problem: LineProblem; readonly error: string };

export type LineDecoder = (line: string) => DecodedLine;

export function createLineDecoder(device: Pick<SerialLineDeviceConfig, 'checksum' | 'parser'>): LineDecoder {
  const parse = createParser(device.parser);
  return (line) => {
    const checked = checkLine(device.checksum, line);
    if (!checked.ok) return { ok: false, problem: 'checksum', error: checked.error };
    const parsed = parse(checked.payload);
    if (!parsed.ok) return { ok: false, problem: 'malformed', error: parsed.error };
    return parsed;
  };
}
