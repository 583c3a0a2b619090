// The programs the proxy benchmark needs from the system, checked before anything starts.
import { execFileSync } from 'node:child_process';

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The system programs that are missing, with the line that installs them (Debian/Ubuntu). */
export function missingTools(needed: string[]): { missing: string[]; hint: string } {
  const missing = needed.filter((t) => !hasCommand(t));
  const pkgs = missing.map((t) => (t === 'taskset' ? 'util-linux' : t));
  return { missing, hint: missing.length ? `apt-get install -y ${pkgs.join(' ')}` : '' };
}
