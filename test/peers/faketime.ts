import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const LIBRARY = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

/**
 * A wall clock a test can move under a real process (Debian's libfaketime, preloaded): `env` goes to the process,
 * `set('+1h')` jumps its clock within a second. Only the wall clock moves, as when NTP corrects a box that booted without a time;
 * the monotonic clock (timers, performance.now) runs on undisturbed.
 */
export interface FakeClock {
  readonly env: NodeJS.ProcessEnv;
  /** An offset from the real time: '+0', '+1h', '-1h', '+30s'... */
  set(offset: string): void;
}

/** Debian's faketime, which scripts/install-peers.sh (the start of `npm test`) installs like every other peer. */
export function fakeClock(dir: string): FakeClock {
  if (!existsSync(LIBRARY)) throw new Error(`no ${LIBRARY}: install Debian's faketime (bash scripts/install-peers.sh)`);
  const file = join(dir, 'faketime');
  writeFileSync(file, '+0\n');
  return {
    env: {
      LD_PRELOAD: LIBRARY,
      FAKETIME_TIMESTAMP_FILE: file,
      // Read the file again each second (not on every clock call, which would slow the process down).
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
    set(offset) {
      writeFileSync(file, `${offset}\n`);
    },
  };
}
