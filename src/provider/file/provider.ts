// The file provider: Gateway API and Envoy Gateway manifests from files and folders, watched.
// Every reload is a whole, consistent view: all changed files are read first, then one snapshot
// is published (never half of an edit that touched several files). Each file keeps its last good
// objects when an edit breaks it (see manifests.ts); across files, an object defined twice is
// taken from the file that comes first in path order and the other definition is reported.
import { readFile } from 'node:fs/promises';
import { relative, isAbsolute } from 'node:path';
import type { Place, Problem } from '../../api/place.js';
import type { AnyObject } from '../object.js';
import { ObjectBook } from '../metadata.js';
import { contentHash, readManifests, type FileState } from './manifests.js';
import { describeError, sameSignature, scanPaths } from './scan.js';
import { PathWatcher, type WatchOptions } from './watch.js';

/** How long a file that lost all its content may still be in the middle of being rewritten. */
const EMPTIED_SETTLE_MS = 1000;

export interface StoredObject {
  object: AnyObject;
  place: Place;
}

export interface FileReport {
  file: string;
  resources: number;
  problems: number;
  /** The file's YAML is broken and its last good version is in force. */
  heldAtLastGood: boolean;
}

/** Everything the provider knows at one moment. */
export interface ProviderSnapshot {
  /** Increases with every published change. */
  version: number;
  /** Id (`Kind namespace/name`) → object with API-server metadata, in id order. */
  objects: ReadonlyMap<string, StoredObject>;
  problems: Problem[];
  files: FileReport[];
  /** EnvoyGateway configuration documents found among the manifests. */
  configs: { object: unknown; place: Place }[];
}

export interface FileProviderOptions extends WatchOptions {
  paths: readonly string[];
  /** Called with each new snapshot (after the first, which `start` returns). */
  onUpdate?: (snapshot: ProviderSnapshot) => void;
  /** Paths in places are shown relative to this folder when under it (default: process.cwd()). */
  cwd?: string;
  /** The clock for creation timestamps (tests). */
  now?: () => Date;
}

export class FileProvider {
  private readonly files = new Map<string, FileState>();
  private scanProblems: Problem[] = [];
  private readonly book: ObjectBook;
  private readonly watcher: PathWatcher;
  private snapshot: ProviderSnapshot = { version: 0, objects: new Map(), problems: [], files: [], configs: [] };
  private scanning: Promise<boolean> | undefined;
  private again = false;
  private settleTimer: NodeJS.Timeout | undefined;
  private readonly cwd: string;

  constructor(private readonly options: FileProviderOptions) {
    this.book = new ObjectBook(options.now);
    this.cwd = options.cwd ?? process.cwd();
    this.watcher = new PathWatcher(options.paths, () => void this.reload(), options);
  }

  /** Reads everything once, starts watching, and returns the first snapshot. */
  async start(): Promise<ProviderSnapshot> {
    await this.rescan();
    this.watcher.start();
    return this.snapshot;
  }

  stop(): void {
    this.watcher.stop();
    clearTimeout(this.settleTimer);
  }

  current(): ProviderSnapshot {
    return this.snapshot;
  }

  /** Rescans now; concurrent calls are coalesced into at most one more scan. Resolves to whether anything changed. */
  reload(): Promise<boolean> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    const run = async (): Promise<boolean> => {
      let changed = false;
      do {
        this.again = false;
        if (await this.rescan()) changed = true;
      } while (this.again);
      return changed;
    };
    this.scanning = run().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private rescanAfter(ms: number): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.reload(), Math.max(0, ms) + 10);
    this.settleTimer.unref();
  }

  private display(path: string): string {
    const rel = relative(this.cwd, path);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  }

  /** One scan: read what changed, and publish if the result differs. */
  private async rescan(): Promise<boolean> {
    const scan = await scanPaths(this.options.paths);
    let changed = false;
    for (const path of [...this.files.keys()]) {
      if (!scan.files.has(path)) {
        this.files.delete(path);
        changed = true;
      }
    }
    for (const [path, signature] of scan.files) {
      const previous = this.files.get(path);
      if (sameSignature(previous?.signature, signature)) continue;
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        // Gone between the scan and the read: the next event or resync settles it.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        const problem = { message: `cannot read: ${describeError(err)}`, place: { file: this.display(path) } };
        this.files.set(path, { ...(previous ?? emptyState(path)), signature, problems: [problem], heldAtLastGood: !!previous });
        changed = true;
        continue;
      }
      const age = Date.now() - signature.mtimeMs;
      // (An mtime in the future, a skewed clock, says nothing about a save in progress.)
      if (previous?.objects.length && text.trim() === '' && age >= 0 && age < EMPTIED_SETTLE_MS) {
        // A save that truncates then writes (writeFile, most editors' plain save) can be caught
        // between its two steps, and taking that moment as "no resources" would also make it the
        // last good version a half-written edit falls back to. A file that had resources and was
        // emptied a moment ago keeps them until it settles; emptied for good, it applies then.
        this.rescanAfter(EMPTIED_SETTLE_MS - age);
        continue;
      }
      if (previous && previous.hash === contentHash(text)) {
        previous.signature = signature;
        continue;
      }
      this.files.set(path, readManifests(path, this.display(path), text, signature, previous));
      changed = true;
    }
    const scanProblems = scan.problems.map((p) => ({ ...p, place: { ...p.place, file: this.display(p.place.file!) } }));
    if (JSON.stringify(scanProblems) !== JSON.stringify(this.scanProblems)) {
      this.scanProblems = scanProblems;
      changed = true;
    }
    if (!changed && this.snapshot.version > 0) return false;
    this.publish();
    return true;
  }

  private publish(): void {
    const problems: Problem[] = [...this.scanProblems];
    const chosen = new Map<string, StoredObject>();
    const files: FileReport[] = [];
    const configs: ProviderSnapshot['configs'] = [];
    const paths = [...this.files.keys()].sort();
    for (const path of paths) {
      const state = this.files.get(path)!;
      problems.push(...state.problems);
      configs.push(...state.configs);
      let count = 0;
      for (const o of state.objects) {
        const first = chosen.get(o.id);
        if (first) {
          problems.push({ message: `${o.id} is already defined in ${first.place.file}; this definition is ignored`, place: o.place });
          continue;
        }
        chosen.set(o.id, { object: o.object, place: o.place });
        count++;
      }
      files.push({ file: this.display(path), resources: count, problems: state.problems.length, heldAtLastGood: state.heldAtLastGood });
    }
    const ids = [...chosen.keys()].sort();
    const withMetadata = this.book.update(new Map(ids.map((id) => [id, chosen.get(id)!.object])));
    const objects = new Map<string, StoredObject>();
    for (const id of ids) objects.set(id, { object: withMetadata.get(id)!, place: chosen.get(id)!.place });
    this.snapshot = { version: this.snapshot.version + 1, objects, problems, files, configs };
    if (this.snapshot.version > 1) this.options.onUpdate?.(this.snapshot);
  }
}

function emptyState(path: string): FileState {
  return { path, signature: { mtimeMs: 0, ctimeMs: 0, size: 0, ino: 0 }, hash: '', objects: [], configs: [], problems: [], heldAtLastGood: false };
}
