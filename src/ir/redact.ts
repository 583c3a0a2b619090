// Showing the IR without its secrets. The IR carries the real secret bytes (private keys, OIDC and
// HMAC secrets, htpasswd files, API keys, ...): the xDS translator reads them from there and
// nothing else remembers them. Whatever displays IR (golden outputs, `egts translate --to ir`,
// logs) renders it through redactIR, which prints each secret as "[redacted]", the way Envoy
// Gateway's JSON rendering of its IR prints its PrivateBytes fields.

export const REDACTED = '[redacted]';

/**
 * Every secret field of the IR, as the end of its path (`[]`: any element of a list). A field is
 * secret wherever its parent sits under that path, so a TLSCertificate is covered in every place
 * it can appear (listeners, TCP routes, backends, ext auth and OIDC provider destinations, ...).
 * The types declare these fields as PrivateBytes.
 */
export const secretFields: readonly string[] = [
  // TLSCertificate.privateKey: server certificates of HTTP/TCP listeners and terminating TCP routes
  'certificates[].privateKey',
  // TLSCertificate.privateKey: client certificates presented to backends and in mTLS
  'clientCertificates[].privateKey',
  // TLSCertificate.privateKey: the proxies' certificate towards Envoy Gateway's own services
  'envoyClientCertificate.privateKey',
  'oidc.clientSecret',
  'oidc.hmacSecret',
  'basicAuth.users',
  'apiKeyAuth.credentials[].key',
  'extAuth.contextExtensions[].value',
  'credentialInjection.credential',
];

/** The rules by their last segment (the field name): the segments before it, innermost first. */
const rulesByField = new Map<string, string[][]>();
for (const path of secretFields) {
  const segments = path.replaceAll('[]', '.[]').split('.');
  const field = segments.pop()!;
  const rules = rulesByField.get(field) ?? [];
  rules.push(segments.reverse());
  rulesByField.set(field, rules);
}

/**
 * Whether `field` of an object is a secret, given the path of that object (its keys from the IR's
 * root, `[]` for list elements, innermost last).
 */
export function isSecretField(field: string, path: readonly string[]): boolean {
  const rules = rulesByField.get(field);
  if (!rules) return false;
  outer: for (const rule of rules) {
    if (rule.length > path.length) continue;
    for (let i = 0; i < rule.length; i++) if (rule[i] !== path[path.length - 1 - i]) continue outer;
    return true;
  }
  return false;
}

/**
 * The IR as it may be shown: a copy with every non-empty secret replaced by "[redacted]" (an
 * empty one stays as it is, as Envoy Gateway omits it). Works on one IR or on a map of IRs by key.
 * Parts without secrets are shared with the input, not copied; the input is never changed.
 */
export function redactIR<T>(ir: T): T {
  return redact(ir, []) as T;
}

function redact(value: unknown, path: string[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    path.push('[]');
    for (let i = 0; i < value.length; i++) {
      const r = redact(value[i], path);
      if (r !== value[i]) (out ??= value.slice())[i] = r;
    }
    path.pop();
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    let r: unknown;
    if (typeof v === 'string') r = v !== '' && isSecretField(key, path) ? REDACTED : v;
    else {
      path.push(key);
      r = redact(v, path);
      path.pop();
    }
    if (r !== v) (out ??= { ...obj })[key] = r;
  }
  return out ?? value;
}

