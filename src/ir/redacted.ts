// Private keys and the IR: Envoy Gateway's IR prints private keys as "[redacted]" (IR dumps and
// golden outputs never show one), yet the xDS translator needs the real bytes. The Gateway API
// translator records each key here under its certificate as it builds the IR; the xDS
// translator looks it up when it meets "[redacted]". Keyed by certificate content, so copies of
// IR objects (structuredClone) still resolve.

export const REDACTED = '[redacted]';

const keys = new Map<string, string>();

export function rememberPrivateKey(certificate: string | undefined, privateKey: string | undefined): void {
  if (certificate && privateKey) keys.set(certificate, privateKey);
}

/** The real private key of an IR certificate (base64), or what the IR holds. */
export function privateKeyOf({ certificate, privateKey }: { certificate?: string; privateKey?: string }): string | undefined {
  if (privateKey === REDACTED && certificate) return keys.get(certificate) ?? privateKey;
  return privateKey;
}

// Other secrets the IR shows redacted (basic auth users, OIDC client and HMAC secrets), recorded
// under the IR object that carries them (its name) and the field.
const secrets = new Map<string, string>();

export function rememberSecret(owner: string, field: string, value: string | undefined): void {
  if (value) secrets.set(`${owner}\n${field}`, value);
}

/** The real value of a redacted IR field, or what the IR holds. */
export function secretOf(owner: string, field: string, irValue: string | undefined): string | undefined {
  if (irValue === REDACTED) return secrets.get(`${owner}\n${field}`) ?? irValue;
  return irValue;
}
