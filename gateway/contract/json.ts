/**
 * JSON with exact 64-bit integers: a bigint is written as a bare JSON number with all its digits
 * (`{"value":-9007199254740993}`), where JSON.stringify would throw. Node 20 has no JSON.rawJSON, so bigints pass
 * through the replacer as marked strings and the marks are cut out afterwards; the mark holds a NUL (which JSON
 * writes escaped, as `\u0000`) and a token drawn at start-up, so no string a device or user sends can look like one.
 */
import { randomBytes } from 'node:crypto';

const MARK = `\u0000${randomBytes(6).toString('hex')}:`;
const MARKED = new RegExp(`"\\\\u0000${MARK.slice(1)}(-?\\d+)"`, 'g');

/** JSON.stringify, except that bigints become bare numbers instead of throwing. */
export function exactJson(value: unknown, space?: number): string {
  let marked = false;
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      marked = true;
      return MARK + v.toString();
    },
    space,
  );
  return marked ? text.replace(MARKED, '$1') : text;
}
