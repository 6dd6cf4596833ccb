/** Just enough of RFC 5322/2045/2047 to read what nodemailer sends: unfolded headers, encoded words, QP or base64. */
export function parseMail(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), decodeEncodedWords(line.slice(colon + 1).trim()));
  }
  const body = raw.slice(split + 4);
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  if (encoding === 'quoted-printable') return { headers, body: decodeQuotedPrintable(body) };
  if (encoding === 'base64') return { headers, body: Buffer.from(body, 'base64').toString('utf8') };
  return { headers, body };
}

const encodedWord = /=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g;

/** Adjacent encoded words are one text (the space between them is folding), possibly split inside a UTF-8 character. */
function decodeEncodedWords(value: string): string {
  return value.replace(/(?:=\?[^?]+\?[QqBb]\?[^?]*\?=\s*)+/g, (run) => {
    const parts = [...run.matchAll(encodedWord)].map(([, , encoding, text]) =>
      encoding!.toUpperCase() === 'B' ? Buffer.from(text!, 'base64') : qBytes(text!.replace(/_/g, ' ')),
    );
    const trailing = /\s*$/.exec(run)![0];
    return Buffer.concat(parts).toString('utf8') + trailing;
  });
}

function decodeQuotedPrintable(text: string): string {
  return qBytes(text.replace(/=\r?\n/g, '')).toString('utf8');
}

function qBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes);
}
