#!/usr/bin/env node
/**
 * `npm run --silent hash-password [-- --cost N]`: prints the scrypt hash of a password for `mqtt.users[].password_hash`.
 * The password is never an argument (it would land in shell history and `ps`): it is typed twice without echo on a
 * terminal, or read from the first line of stdin.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { hashPassword, scryptLimits } from '../broker/password.js';

const usage = 'usage: npm run --silent hash-password [-- --cost N]';
const help = `${usage}

Prints the scrypt hash of a password, for an MQTT user in the gateway config. On a terminal the password is asked
twice and not echoed; otherwise it is the first line of stdin. It is never an argument, which would land in shell
history and in \`ps\`.

  --cost N    scrypt cost as log2 of N, ${scryptLimits.ln.min} to ${scryptLimits.ln.max} (default 14: 16 MiB per login);
              each step up doubles the time and memory a login takes
  -h, --help  this text

From a script (printf is a shell builtin, so the password shows in no process list):

  printf '%s\\n' "$PASSWORD" | npm run --silent hash-password

Put the printed line in the config:

  mqtt:
    users:
      - username: pump-station-3
        role: device
        password_hash: "$scrypt$ln=14,r=8,p=1$<salt>$<hash>"
`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ options: { cost: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (error) {
    return usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  // Not echoed back: a positional is most likely the password itself.
  if (positionals.length > 0) return usageError('takes no arguments: the password is read from the terminal or stdin, never from the command line');
  const { min, max } = scryptLimits.ln;
  const cost = values.cost === undefined ? undefined : Number(values.cost);
  if (cost !== undefined && (!Number.isInteger(cost) || cost < min || cost > max)) {
    return usageError(`--cost must be an integer from ${min} to ${max} (got ${JSON.stringify(values.cost)})`);
  }

  const password = process.stdin.isTTY ? await askTwice() : await readFirstLine();
  if (password === undefined) return failure('no password given');
  if (password === '') return failure('the password is empty');
  process.stdout.write(`${await hashPassword(password, cost === undefined ? {} : { ln: cost })}\n`);
  return 0;
}

async function askTwice(): Promise<string | undefined> {
  const first = await readHidden('Password: ');
  if (first === undefined || first === '') return first;
  const second = await readHidden('Again: ');
  if (second === undefined) return undefined;
  if (second !== first) throw new CliFailure('the passwords do not match');
  return first;
}

/** Reads one line from the terminal in raw mode, so nothing typed is echoed. Undefined on Ctrl-C or Ctrl-D. */
function readHidden(prompt: string): Promise<string | undefined> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setEncoding('utf8');
  stdin.setRawMode(true);
  return new Promise((resolve) => {
    let typed: string[] = [];
    const finish = (result: string | undefined): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(result);
    };
    const onData = (chunk: string): void => {
      // Per code point, so a backspace removes a whole character (an emoji is two UTF-16 units).
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish(typed.join(''));
        if (char === '\u0003' || char === '\u0004') return finish(undefined);
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed.push(char);
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function readFirstLine(): Promise<string | undefined> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) return line;
  return undefined;
}

/** An expected failure: its message is told without a stack trace. */
class CliFailure extends Error {}

function usageError(message: string): number {
  process.stderr.write(`hash-password: ${message}\n${usage}\n`);
  return 2;
}

function failure(message: string): number {
  process.stderr.write(`hash-password: ${message}\n`);
  return 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CliFailure) process.exitCode = failure(error.message);
    else process.exitCode = failure(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  },
);
