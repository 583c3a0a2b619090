// Which files the file provider reads: the configured paths, folders walked recursively. Only
// manifest files count (.yaml, .yml, .json); hidden entries and editors' backup and swap files
// are skipped, so that saving from an editor never loads a half-written temporary copy.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { Problem } from '../../api/place.js';

const manifestExtensions = new Set(['.yaml', '.yml', '.json']);

/** Whether a file name is one the provider reads (not hidden, not a backup, a manifest extension). */
export function isManifestName(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('#') || name.endsWith('~')) return false;
  return manifestExtensions.has(extname(name).toLowerCase());
}

/** How a file looked on disk: a change in any of these means reading it again. */
export interface FileSignature {
  mtimeMs: number;
  ctimeMs: number;
  size: number;
  ino: number;
}

export function sameSignature(a: FileSignature | undefined, b: FileSignature): boolean {
  return !!a && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size && a.ino === b.ino;
}

export interface ScanResult {
  /** Absolute path → signature, for every manifest file found. */
  files: Map<string, FileSignature>;
  /** Paths that could not be read (missing, permission denied): reported, not fatal. */
  problems: Problem[];
}

/** Lists the manifest files under `paths` (files are taken as given, folders walked). */
export async function scanPaths(paths: readonly string[]): Promise<ScanResult> {
  const files = new Map<string, FileSignature>();
  const problems: Problem[] = [];
  const visit = async (path: string, explicit: boolean, depth: number): Promise<void> => {
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      // A file that vanished between listing and stat is simply gone; a configured path that is
      // missing is worth saying.
      if (explicit) problems.push({ message: `cannot read: ${describeError(err)}`, place: { file: path } });
      return;
    }
    if (st.isDirectory()) {
      if (depth > 32) return; // a symlink loop
      let entries: Dirent[];
      try {
        entries = await readdir(path, { withFileTypes: true });
      } catch (err) {
        problems.push({ message: `cannot list folder: ${describeError(err)}`, place: { file: path } });
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        // Folders (and links, which may lead to one) are entered; files only when they look like manifests.
        if (entry.isFile() && !isManifestName(entry.name)) continue;
        await visit(join(path, entry.name), false, depth + 1);
      }
      return;
    }
    if (!st.isFile()) return;
    if (!explicit && !isManifestName(basename(path))) return;
    files.set(path, { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size, ino: st.ino });
  };
  for (const p of paths) await visit(resolve(p), true, 0);
  return { files, problems };
}

export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file or folder';
  if (e?.code === 'EACCES') return 'permission denied';
  return e?.message ?? String(err);
}
