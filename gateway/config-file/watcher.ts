import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../util/log.js';

/** Edits arrive in bursts (write, then rename; several files at once): one reload after they settle. */
const SETTLE_MS = 250;

/**
 * Watches the config file and the rule files and calls `reload` after they change. It watches their directories,
 * not the files, because editors save by writing a new file and renaming it over the old one.
 */
export class ConfigWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly reload: () => void,
    private readonly log: Logger,
  ) {}

  /** (Re)starts watching these files (absolute paths). */
  watch(files: readonly string[]): void {
    this.close();
    const byDir = new Map<string, Set<string>>();
    for (const file of files) {
      const names = byDir.get(dirname(file)) ?? new Set<string>();
      names.add(basename(file));
      byDir.set(dirname(file), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const watcher = watch(dir, (_event, name) => {
          if (name !== null && names.has(name.toString())) this.schedule();
        });
        watcher.on('error', (error) => this.log.warn('stopped watching config files', { dir, error }));
        this.watchers.push(watcher);
      } catch (error) {
        this.log.warn('cannot watch config files; edits need a SIGHUP or a restart', { dir, error });
      }
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), SETTLE_MS);
  }
}
