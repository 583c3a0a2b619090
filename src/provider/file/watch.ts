// Watches the configured paths and calls back, debounced, when anything under them may have
// changed. Events only say "look again": the provider rescans and compares, so a missed or
// spurious event costs nothing. Folders are watched recursively; a single file through its
// folder (editors replace files by renaming, which a watch on the file itself would lose).
// A periodic resync covers paths that do not exist yet and filesystems without events.
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface WatchOptions {
  /** Quiet time after the last event before calling back (default 100 ms). */
  debounceMs?: number;
  /** Longest a steady stream of events may delay the call (default 1 s). */
  maxDelayMs?: number;
  /** Period of the safety rescan, 0 to disable (default 5 s). */
  resyncMs?: number;
}

export class PathWatcher {
  private readonly paths: string[];
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private firstEventAt = 0;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly resyncMs: number;
  private stopped = false;

  constructor(paths: readonly string[], private readonly onChange: () => void, options: WatchOptions = {}) {
    this.paths = paths.map((p) => resolve(p));
    this.debounceMs = options.debounceMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.resyncMs = options.resyncMs ?? 5000;
  }

  start(): void {
    this.stopped = false;
    this.ensureWatchers();
    if (this.resyncMs > 0) {
      this.resync = setInterval(() => {
        this.ensureWatchers();
        this.onChange();
      }, this.resyncMs);
      this.resync.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.resync);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Sets up a watcher for every path that has none (first start, or the path appeared since). */
  private ensureWatchers(): void {
    for (const path of this.paths) {
      if (this.watchers.has(path)) continue;
      let isDir: boolean;
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        continue; // not there (yet): the resync will look again
      }
      const target = isDir ? path : dirname(path);
      const name = isDir ? undefined : basename(path);
      try {
        const w = watch(target, { recursive: isDir, persistent: false }, (_event, file) => {
          if (name && file && basename(String(file)) !== name) return;
          this.changed();
        });
        w.on('error', () => {
          // The folder went away: drop the watcher, report a change, and let the resync re-create it.
          w.close();
          this.watchers.delete(path);
          this.changed();
        });
        this.watchers.set(path, w);
      } catch {
        // Out of inotify watches or similar: the periodic resync still picks up changes.
      }
    }
  }

  private changed(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (!this.timer) this.firstEventAt = now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstEventAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.onChange();
    }, wait);
  }
}
