// Gateway-level TLS (spec.tls): the client certificate the proxy shows to backends, and the
// validation of client certificates on TLS listeners (a default, and per port). Problems are
// reported on the Gateway (and on the listeners that would use a broken validation).
import type { Secret } from '../api/core/index.js';
import type { GatewayTLSConfig, SecretObjectReference } from '../api/gatewayapi/index.js';
import type { TLSCACertificate } from '../ir/xds.js';
import { GatewayGroup, type GatewayContext, type ListenerContext } from './contexts.js';
import { referenceAllowed } from './lookups.js';
import { Cond, Reason } from './status.js';
import type { Translation } from './translation.js';

/** Client certificate validation a Gateway asks of a listener's clients (spec.tls.frontend). */
export interface FrontendValidation {
  caCertificate?: TLSCACertificate;
  /** The IR's validation mode: RequireAndVerify, or Request (insecure fallback). */
  mode?: string;
  error?: { reason: string; message: string };
}

/** What spec.tls resolved to, per Gateway. */
export interface GatewayTLS {
  /** The backend client certificate Secret, when set and valid. */
  clientCertificate?: Secret;
  /** The backend client certificate was set but is not usable: no client certificate at all. */
  clientCertificateInvalid?: boolean;
  /** Validation by listener port; undefined for a port means the default applies. */
  perPort: Map<number, FrontendValidation | null>;
  defaultValidation?: FrontendValidation;
}

const gatewayTLS = new WeakMap<GatewayContext, GatewayTLS>();

export function gatewayTLSOf(g: GatewayContext | undefined): GatewayTLS | undefined {
  return g ? gatewayTLS.get(g) : undefined;
}

export function processGatewayTLS(t: Translation): void {
  for (const g of t.accepted) {
    const tls = g.gateway.spec?.tls;
    if (!tls) continue;
    const out: GatewayTLS = { perPort: new Map() };
    gatewayTLS.set(g, out);
    let backendError: { reason: string; message: string } | undefined;
    const ref = tls.backend?.clientCertificateRef;
    if (ref) {
      const r = clientCertificate(t, g, ref);
      if ('error' in r) {
        backendError = r.error;
        out.clientCertificateInvalid = true;
      } else out.clientCertificate = r.secret;
    }
    const frontend = tls.frontend;
    let frontendError: string | undefined;
    let insecure = false;
    if (frontend?.default?.validation) {
      out.defaultValidation = frontendValidation(t, g, frontend.default.validation, 'default');
      if (out.defaultValidation.error) frontendError = `the default frontend CA certificates are not usable: ${out.defaultValidation.error.message}`;
      if (frontend.default.validation.mode === 'AllowInsecureFallback') insecure = true;
    }
    for (const pp of frontend?.perPort ?? []) {
      const v = pp.tls?.validation;
      if (!v) {
        out.perPort.set(pp.port, null);
        continue;
      }
      const fv = frontendValidation(t, g, v, String(pp.port));
      out.perPort.set(pp.port, fv);
      if (fv.error) frontendError ??= `the frontend CA certificates of port ${pp.port} are not usable: ${fv.error.message}`;
      if (v.mode === 'AllowInsecureFallback') insecure = true;
    }
    if (backendError) g.setCondition(Cond.ResolvedRefs, 'False', backendError.reason, backendError.message);
    else if (frontendError) g.setCondition(Cond.ResolvedRefs, 'False', Reason.InvalidParameters, frontendError);
    else g.setCondition(Cond.ResolvedRefs, 'True', Reason.ResolvedRefs, 'All TLS references of the Gateway are resolved');
    if (insecure) g.setCondition('InsecureFrontendValidationMode', 'True', 'ConfigurationChanged', 'The Gateway accepts clients whose certificate does not validate (AllowInsecureFallback)');
  }
}

function clientCertificate(t: Translation, g: GatewayContext, ref: SecretObjectReference): { secret: Secret } | { error: { reason: string; message: string } } {
  const bad = (message: string) => ({ error: { reason: 'InvalidClientCertificateRef', message } });
  if (ref.group) return bad(`client certificate reference group ${ref.group} is not supported`);
  if (ref.kind && ref.kind !== 'Secret') return bad(`client certificate reference kind ${ref.kind} is not supported`);
  const ns = ref.namespace || g.namespace;
  if (ns !== g.namespace) {
    const ok = referenceAllowed(t.lookups.referenceGrants, { group: GatewayGroup, kind: 'Gateway', namespace: g.namespace }, { group: '', kind: 'Secret', namespace: ns, name: ref.name });
    if (!ok) return { error: { reason: Reason.RefNotPermitted, message: `no ReferenceGrant allows the client certificate Secret ${ns}/${ref.name}` } };
  }
  const secret = t.lookups.secret(ns, ref.name);
  if (!secret) return bad(`client certificate Secret ${ns}/${ref.name} not found`);
  if (!secret.data?.['tls.crt'] || !secret.data?.['tls.key']) return bad(`Secret ${ns}/${ref.name} must contain tls.crt and tls.key`);
  return { secret };
}

const modeOf: Record<string, string> = { AllowValidOnly: 'RequireAndVerify', AllowInsecureFallback: 'Request' };

type FrontendTLSValidation = NonNullable<NonNullable<GatewayTLSConfig['frontend']>['default']['validation']>;

function frontendValidation(t: Translation, g: GatewayContext, v: FrontendTLSValidation, suffix: string): FrontendValidation {
  const parts: string[] = [];
  for (const ref of v.caCertificateRefs ?? []) {
    const kind = ref.kind ?? 'ConfigMap';
    if ((ref.group ?? '') !== '' || (kind !== 'ConfigMap' && kind !== 'Secret')) {
      return { error: { reason: 'InvalidCACertificateKind', message: `CA certificate reference kind ${kind} is not supported` } };
    }
    const ns = ref.namespace || g.namespace;
    if (ns !== g.namespace) {
      const ok = referenceAllowed(t.lookups.referenceGrants, { group: GatewayGroup, kind: 'Gateway', namespace: g.namespace }, { group: '', kind, namespace: ns, name: ref.name });
      if (!ok) return { error: { reason: Reason.RefNotPermitted, message: `no ReferenceGrant allows the CA certificate ${kind} ${ns}/${ref.name}` } };
    }
    const obj = kind === 'ConfigMap' ? t.lookups.configMap(ns, ref.name) : t.lookups.secret(ns, ref.name);
    if (!obj) return { error: { reason: 'InvalidCACertificateRef', message: `${kind.toLowerCase()} ${ref.name} not found in namespace ${ns}` } };
    const raw = obj.data?.['ca.crt'];
    if (raw === undefined) return { error: { reason: 'InvalidCACertificateRef', message: `${kind} ${ns}/${ref.name} has no ca.crt` } };
    parts.push(kind === 'Secret' ? Buffer.from(raw, 'base64').toString('utf8') : raw);
  }
  return {
    caCertificate: { name: `gateway/${g.namespace}/${g.name}/${suffix}/ca.crt`, certificate: Buffer.from(parts.join('\n'), 'utf8').toString('base64') },
    mode: modeOf[v.mode ?? 'AllowValidOnly'] ?? 'RequireAndVerify',
  };
}

/**
 * Client certificate validation of a TLS-terminating listener, from its Gateway's spec.tls.
 * Returns false when the validation it would use is broken (the listener is then rejected).
 */
export function applyFrontendValidation(l: ListenerContext): boolean {
  const gt = gatewayTLS.get(l.gateway);
  if (!gt || l.listenerSet) return true;
  const fv = gt.perPort.has(l.port) ? gt.perPort.get(l.port) : gt.defaultValidation;
  if (!fv) return true;
  if (fv.error) {
    l.setCondition(Cond.ResolvedRefs, 'False', fv.error.reason, fv.error.message);
    l.setCondition(Cond.Programmed, 'False', fv.error.reason, fv.error.message);
    l.setCondition(Cond.Accepted, 'False', 'NoValidCACertificate', 'The listener has no valid CA certificate to validate clients with');
    return false;
  }
  l.frontendValidation = fv;
  return true;
}
