// Files the configuration names where Envoy Gateway mounts them in its Envoy pods: the proxy's
// certificates (the `envoy` Secret: ca.crt, tls.crt, tls.key) under /certs. A proxy running on a
// host is told where those files really are (egts proxy --certs-dir, inherited by its workers
// through the environment); every other path is read as it is.
import { join } from 'node:path';

export const CERTS_DIR_ENV = 'EGTS_PROXY_CERTS_DIR';
const MOUNT = '/certs/';

export function mountedPath(path: string): string {
  const dir = process.env[CERTS_DIR_ENV];
  if (!dir || !path.startsWith(MOUNT)) return path;
  return join(dir, path.slice(MOUNT.length));
}
