// Every kind egts admits, by API group and kind, with the versions each is served at.
import { coreKinds } from './core/index.js';
import { envoyGatewayKinds } from './envoygateway/index.js';
import { gatewayAPIKinds } from './gatewayapi/index.js';
import type { KindInfo } from './kinds.js';

export type { KindInfo };

const byGroupKind = new Map<string, KindInfo>();
const byKind = new Map<string, KindInfo[]>();

/** Adds kinds to the registry (each API family registers its own list). */
export function registerKinds(kinds: readonly KindInfo[]): void {
  for (const k of kinds) {
    byGroupKind.set(`${k.group}/${k.kind}`, k);
    const same = byKind.get(k.kind);
    if (same) same.push(k);
    else byKind.set(k.kind, [k]);
  }
}

registerKinds(gatewayAPIKinds);
registerKinds(envoyGatewayKinds);
registerKinds(coreKinds);

/** Splits `group/version` (or a bare core version such as `v1`). */
export function parseAPIVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export type Lookup =
  | { ok: true; info: KindInfo }
  | { ok: false; reason: 'unknown-kind' | 'unknown-group' | 'unserved-version'; message: string };

/** Finds the kind an object declares; says precisely what is wrong when it is not admitted. */
export function lookupKind(apiVersion: string, kind: string): Lookup {
  const { group, version } = parseAPIVersion(apiVersion);
  const info = byGroupKind.get(`${group}/${kind}`);
  if (info) {
    if (info.versions.includes(version)) return { ok: true, info };
    return {
      ok: false,
      reason: 'unserved-version',
      message: `${kind} is not served at version ${version} of ${group || 'the core group'} (served: ${info.versions.join(', ')})`,
    };
  }
  const elsewhere = byKind.get(kind);
  if (elsewhere) {
    const where = elsewhere.map((k) => `${k.group ? `${k.group}/` : ''}${k.versions[0]}`).join(' or ');
    return { ok: false, reason: 'unknown-group', message: `kind ${kind} is not part of ${group || 'the core group'}; use apiVersion ${where}` };
  }
  return { ok: false, reason: 'unknown-kind', message: `unknown kind ${kind} (apiVersion ${apiVersion})` };
}

/** All registered kinds (for listings and tests). */
export function registeredKinds(): KindInfo[] {
  return [...byGroupKind.values()];
}
