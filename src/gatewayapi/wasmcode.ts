// Where an EnvoyExtensionPolicy's Wasm code comes from: the download URL the Wasm cache is asked
// for (an image gets the oci:// scheme and, with neither tag nor digest, the `latest` tag), its
// pull policy and pull secret. Shared by the translator (which looks modules up) and by whoever
// fetches them beforehand (`wasmModulesToFetch`), so both name a module the same way.
import type { Secret } from '../api/core/index.js';
import type { EnvoyExtensionPolicy, Wasm } from '../api/envoygateway/index.js';
import type { Resources } from '../resources/resources.js';
import { SettingError } from './clustersettings.js';
import { EnvoyGatewayGroup } from './contexts.js';
import { Lookups, referenceAllowed } from './lookups.js';
import type { WasmModuleRequest } from './settings.js';

type Code = Partial<Wasm['code']>;

const ociPrefix = 'oci://';
const dockerConfigKey = '.dockerconfigjson';

/** The module's download URL: HTTP(S) as given, an image as `oci://<reference>` with a tag or digest. */
export function wasmDownloadURL(code: Code): string {
  if (code.type === 'HTTP') {
    if (!code.http) throw new SettingError('missing HTTP field in Wasm code source');
    return code.http.url;
  }
  if (code.type === 'Image') {
    if (!code.image) throw new SettingError('missing Image field in Wasm code source');
    const url = code.image.url.startsWith(ociPrefix) ? code.image.url : `${ociPrefix}${code.image.url}`;
    const path = url.slice(ociPrefix.length);
    // A tag follows the last colon after the last slash (a colon before it is a registry port).
    const hasTag = /:[^/]+$/.test(path.slice(path.lastIndexOf('/') + 1));
    return path.includes('@') || hasTag ? url : `${url}:latest`;
  }
  throw new SettingError(`unsupported Wasm code source type "${code.type}"`);
}

/** The IR and cache name of a policy's i-th Wasm extension. */
export const wasmResourceName = (p: EnvoyExtensionPolicy, i: number) => `envoyextensionpolicy/${p.metadata?.namespace ?? ''}/${p.metadata.name}/wasm/${i}`;

/** What the cache is asked for one Wasm extension: checksum, pull policy, pull secret. */
export function wasmModuleRequest(lookups: Lookups, policy: EnvoyExtensionPolicy, i: number, code: Code): WasmModuleRequest {
  const out: WasmModuleRequest = {
    resourceName: wasmResourceName(policy, i),
    resourceVersion: policy.metadata?.resourceVersion ?? String(policy.metadata?.generation ?? ''),
  };
  const sha256 = code.type === 'HTTP' ? code.http?.sha256 : code.image?.sha256;
  if (sha256) out.sha256 = sha256;
  if (code.pullPolicy) out.pullPolicy = code.pullPolicy;
  const ref = code.type === 'Image' ? code.image?.pullSecretRef : undefined;
  if (ref) {
    const secret = pullSecret(lookups, policy, ref);
    const text = secret.stringData?.[dockerConfigKey] ?? (secret.data?.[dockerConfigKey] !== undefined ? Buffer.from(secret.data[dockerConfigKey], 'base64').toString('utf8') : undefined);
    if (text === undefined) throw new SettingError(`missing ${dockerConfigKey} key in secret ${secret.metadata?.namespace}/${secret.metadata?.name}`);
    out.pullSecret = text;
  }
  return out;
}

/** The image's pull secret: in the policy's namespace, or elsewhere when a ReferenceGrant allows it. */
function pullSecret(lookups: Lookups, policy: EnvoyExtensionPolicy, ref: { group?: string; kind?: string; name: string; namespace?: string }): Secret {
  const own = policy.metadata?.namespace ?? '';
  const ns = ref.namespace || own;
  if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret') throw new SettingError(`unsupported secret reference kind ${ref.kind}`);
  if (ns !== own) {
    const from = { group: EnvoyGatewayGroup, kind: 'EnvoyExtensionPolicy', namespace: own };
    if (!referenceAllowed(lookups.referenceGrants, from, { group: '', kind: 'Secret', namespace: ns, name: ref.name })) {
      throw new SettingError(`secret ref ${ns}/${ref.name} is not permitted by any ReferenceGrant`);
    }
  }
  const s = lookups.secret(ns, ref.name);
  if (!s) throw new SettingError(`secret ${ns}/${ref.name} does not exist`);
  return s;
}

/** A module a bundle's policies need: what to fetch before translating. */
export interface WasmModuleToFetch {
  url: string;
  request: WasmModuleRequest;
}

/**
 * The Wasm modules of a bundle's EnvoyExtensionPolicies (those whose code source or pull secret
 * is broken are left out: the translation reports them).
 */
export function wasmModulesToFetch(resources: Resources): WasmModuleToFetch[] {
  const out: WasmModuleToFetch[] = [];
  let lookups: Lookups | undefined;
  for (const policy of resources.envoyExtensionPolicies) {
    (policy.spec?.wasm ?? []).forEach((w, i) => {
      try {
        const url = wasmDownloadURL(w.code ?? {});
        out.push({ url, request: wasmModuleRequest((lookups ??= new Lookups(resources)), policy, i, w.code ?? {}) });
      } catch (e) {
        if (!(e instanceof SettingError)) throw e;
      }
    });
  }
  return out;
}
