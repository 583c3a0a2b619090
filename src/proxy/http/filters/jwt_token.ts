// A JWT as jwt_authn checks it: parsed (header, payload, registered claims) with the failure
// reasons Envoy reports, the time and audience checks, and the signature checked against a
// JWKS (keys imported once through jose, chosen by kid and alg).
import { compactVerify, importJWK, type JWK } from 'jose';

/** Envoy's jwt_verify status texts: they are the bodies of 401/403 replies. */
export const JwtStatus = {
  Ok: 'OK',
  Missed: 'Jwt is missing',
  NotYetValid: 'Jwt not yet valid',
  Expired: 'Jwt is expired',
  BadFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  HeaderBadBase64: 'Jwt header is an invalid Base64url encoded',
  HeaderBadJson: 'Jwt header is an invalid JSON',
  HeaderBadAlg: 'Jwt header [alg] field is required and must be a string',
  HeaderNotImplementedAlg: 'Jwt header [alg] is not supported',
  HeaderBadKid: 'Jwt header [kid] field is not a string',
  PayloadBadBase64: 'Jwt payload is an invalid Base64url encoded',
  PayloadBadJson: 'Jwt payload is an invalid JSON',
  IssNotString: 'Jwt payload [iss] field is not a string',
  SubNotString: 'Jwt payload [sub] field is not a string',
  IatNotInteger: 'Jwt payload [iat] field is not an integer',
  NbfNotInteger: 'Jwt payload [nbf] field is not an integer',
  ExpNotInteger: 'Jwt payload [exp] field is not an integer',
  JtiNotString: 'Jwt payload [jti] field is not a string',
  AudNotString: 'Jwt payload [aud] field is not a string or string list',
  SignatureBadBase64: 'Jwt signature is an invalid Base64url encoded',
  UnknownIssuer: 'Jwt issuer is not configured',
  AudienceNotAllowed: 'Audiences in Jwt are not allowed',
  VerificationFail: 'Jwt verification fails',
  JwksParseError: 'Jwks is an invalid JSON',
  JwksNoKeys: 'Jwks does not have [keys] field',
  JwksBadKeys: '[keys] in Jwks is not an array',
  JwksNoValidKeys: "Jwks doesn't have any valid public key",
  JwksKidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  JwksFetchFail: 'Jwks remote fetch is failed',
} as const;

export type Status = (typeof JwtStatus)[keyof typeof JwtStatus];

const ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA']);
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export interface Jwt {
  token: string;
  alg: string;
  kid: string | undefined;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The payload segment as received (base64url), for forward_payload_header. */
  payloadB64: string;
  iss: string;
  audiences: string[];
  /** Seconds since the epoch; 0 when absent. */
  exp: number;
  nbf: number;
  iat: number;
}

function decodeJson(seg: string): Record<string, unknown> | 'base64' | 'json' {
  if (!B64URL.test(seg)) return 'base64';
  try {
    const v = JSON.parse(Buffer.from(seg, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : 'json';
  } catch { return 'json'; }
}

function intClaim(p: Record<string, unknown>, name: string): number | undefined | false {
  const v = p[name];
  if (v === undefined) return undefined;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : false;
}

/** Parses a compact JWS; a string is the failure status. */
export function parseJwt(token: string): Jwt | Status {
  const parts = token.split('.');
  if (parts.length !== 3) return JwtStatus.BadFormat;
  const header = decodeJson(parts[0]!);
  if (header === 'base64') return JwtStatus.HeaderBadBase64;
  if (header === 'json') return JwtStatus.HeaderBadJson;
  const alg = header.alg;
  if (typeof alg !== 'string') return JwtStatus.HeaderBadAlg;
  if (!ALGS.has(alg)) return JwtStatus.HeaderNotImplementedAlg;
  if (header.kid !== undefined && typeof header.kid !== 'string') return JwtStatus.HeaderBadKid;
  const payload = decodeJson(parts[1]!);
  if (payload === 'base64') return JwtStatus.PayloadBadBase64;
  if (payload === 'json') return JwtStatus.PayloadBadJson;
  if (payload.iss !== undefined && typeof payload.iss !== 'string') return JwtStatus.IssNotString;
  if (payload.sub !== undefined && typeof payload.sub !== 'string') return JwtStatus.SubNotString;
  if (payload.jti !== undefined && typeof payload.jti !== 'string') return JwtStatus.JtiNotString;
  const iat = intClaim(payload, 'iat');
  if (iat === false) return JwtStatus.IatNotInteger;
  const nbf = intClaim(payload, 'nbf');
  if (nbf === false) return JwtStatus.NbfNotInteger;
  const exp = intClaim(payload, 'exp');
  if (exp === false) return JwtStatus.ExpNotInteger;
  let audiences: string[] = [];
  const aud = payload.aud;
  if (typeof aud === 'string') audiences = [aud];
  else if (Array.isArray(aud)) {
    if (!aud.every((a) => typeof a === 'string')) return JwtStatus.AudNotString;
    audiences = aud as string[];
  } else if (aud !== undefined) return JwtStatus.AudNotString;
  if (!B64URL.test(parts[2]!)) return JwtStatus.SignatureBadBase64;
  return {
    token, alg, kid: header.kid as string | undefined, header, payload, payloadB64: parts[1]!,
    iss: (payload.iss as string | undefined) ?? '', audiences, exp: exp ?? 0, nbf: nbf ?? 0, iat: iat ?? 0,
  };
}

/** exp and nbf against now, with the allowed clock skew (seconds). */
export function checkTime(jwt: Jwt, nowSec: number, skewSec: number): Status {
  if (jwt.nbf && nowSec + skewSec < jwt.nbf) return JwtStatus.NotYetValid;
  if (jwt.exp && nowSec > jwt.exp + skewSec) return JwtStatus.Expired;
  return JwtStatus.Ok;
}

/** Some audience of the token is allowed (no configured audiences allows any). */
export function audienceAllowed(allowed: ReadonlySet<string> | undefined, jwt: Jwt): boolean {
  if (!allowed || allowed.size === 0) return true;
  // Envoy compares audiences without a scheme and trailing slash.
  return jwt.audiences.some((a) => allowed.has(normalizeAudience(a)));
}

export function normalizeAudience(a: string): string {
  let s = a;
  if (s.startsWith('http://')) s = s.slice(7);
  else if (s.startsWith('https://')) s = s.slice(8);
  if (s.endsWith('/')) s = s.slice(0, -1);
  return s;
}

interface JwksKey {
  jwk: JWK;
  /** Imported keys, by algorithm (a JWK without alg may serve several). */
  imported: Map<string, Promise<unknown>>;
}

/** A key set: its keys, or the status that says why it has none. */
export class Jwks {
  private constructor(readonly keys: JwksKey[], readonly status: Status) {}

  static parse(text: string): Jwks {
    let v: unknown;
    try { v = JSON.parse(text); } catch { return new Jwks([], JwtStatus.JwksParseError); }
    if (!v || typeof v !== 'object' || Array.isArray(v)) return new Jwks([], JwtStatus.JwksParseError);
    const keys = (v as { keys?: unknown }).keys;
    if (keys === undefined) return new Jwks([], JwtStatus.JwksNoKeys);
    if (!Array.isArray(keys)) return new Jwks([], JwtStatus.JwksBadKeys);
    const usable = keys.filter((k): k is JWK => !!k && typeof k === 'object' && typeof k.kty === 'string' && ['RSA', 'EC', 'oct', 'OKP'].includes(k.kty))
      .map((jwk) => ({ jwk, imported: new Map<string, Promise<unknown>>() }));
    return new Jwks(usable, usable.length ? JwtStatus.Ok : JwtStatus.JwksNoValidKeys);
  }

  /** Checks the signature with the keys that fit the token's kid and alg. */
  async verify(jwt: Jwt): Promise<Status> {
    if (this.status !== JwtStatus.Ok) return this.status;
    const candidates = this.keys.filter((k) => (jwt.kid === undefined || k.jwk.kid === undefined || k.jwk.kid === jwt.kid)
      && (k.jwk.alg === undefined || k.jwk.alg === jwt.alg) && ktyFits(k.jwk, jwt.alg));
    if (!candidates.length) return JwtStatus.JwksKidAlgMismatch;
    for (const k of candidates) {
      let key = k.imported.get(jwt.alg);
      if (!key) {
        key = importJWK({ ...k.jwk, ext: true }, jwt.alg).catch(() => undefined);
        k.imported.set(jwt.alg, key);
      }
      const imported = await key;
      if (!imported) continue;
      try {
        await compactVerify(jwt.token, imported as Parameters<typeof compactVerify>[1], { algorithms: [jwt.alg] });
        return JwtStatus.Ok;
      } catch { /* next candidate */ }
    }
    return JwtStatus.VerificationFail;
  }
}

function ktyFits(jwk: JWK, alg: string): boolean {
  switch (jwk.kty) {
    case 'RSA': return alg.startsWith('RS') || alg.startsWith('PS');
    case 'EC': return alg.startsWith('ES');
    case 'oct': return alg.startsWith('HS');
    case 'OKP': return alg === 'EdDSA';
    default: return false;
  }
}
