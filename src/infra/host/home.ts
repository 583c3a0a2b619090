// Where egts keeps what it makes on this machine when it runs a gateway standalone: the mTLS
// certificates, the proxies' bootstrap files and logs. `--home` or EGTS_HOME set it; otherwise
// the XDG state folder.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EGTS_HOME) return env.EGTS_HOME;
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'egts');
}

/** The certificates folder under a home. */
export const certsDir = (home: string) => join(home, 'certs');
