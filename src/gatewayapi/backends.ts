// Envoy Gateway Backend resources: their validation and Accepted status. Routes that reference an
// invalid Backend report the same error.
import type { Backend } from '../api/envoygateway/index.js';
import type { Condition } from '../api/meta.js';
import { withFreshStatus, type WithStatus } from './contexts.js';
import { Reason, RouteError, setCondition } from './status.js';
import type { Translation } from './translation.js';

export function processBackends(t: Translation): WithStatus<Backend>[] {
  const out: WithStatus<Backend>[] = [];
  for (const input of t.resources.backends) {
    const conditions: Condition[] = [];
    const b = withFreshStatus(input, { conditions });
    t.backendCopies.set(input, b);
    if (!t.settings.backendEnabled) {
      setCondition(conditions, 'Invalid', 'False', 'Accepted', 'The Backend is not accepted: Backend is not enabled in the EnvoyGateway configuration');
    } else {
      const err = validateBackend(b, !!t.settings.runningOnHost, targetedByBackendTLSPolicy(t, b));
      if (err) {
        t.backendErrors.set(input, err);
        setCondition(conditions, 'Invalid', 'False', 'Accepted', `The Backend is not accepted: ${err.message}`);
      } else {
        setCondition(conditions, 'Accepted', 'True', 'Accepted', 'The Backend is accepted');
      }
    }
    out.push(b);
  }
  return out;
}

/** Whether some BackendTLSPolicy (in the Backend's namespace) names this Backend, or one of its ports. */
export function targetedByBackendTLSPolicy(t: Translation, b: Backend): boolean {
  const ports = new Set((b.spec?.endpoints ?? []).map((e) => String(e.ip?.port ?? e.fqdn?.port ?? '')));
  return t.resources.backendTLSPolicies.some(
    (p) =>
      p.metadata.namespace === b.metadata.namespace &&
      (p.spec?.targetRefs ?? []).some((r) => r.kind === 'Backend' && r.name === b.metadata.name && (r.sectionName == null || ports.has(String(r.sectionName)))),
  );
}

/**
 * Why a Backend cannot be used, or undefined. TLS without a CA is fine when a BackendTLSPolicy
 * supplies the validation.
 */
export function validateBackend(b: Backend, runningOnHost: boolean, validatedByPolicy = false): RouteError | undefined {
  const spec: Partial<Backend['spec']> = b.spec ?? {};
  if (spec.type === 'DynamicResolver' && (spec.endpoints ?? []).length > 0) {
    return new RouteError('a DynamicResolver Backend cannot have endpoints', Reason.InvalidBackendRef);
  }
  const tls = spec.tls;
  if (tls && !validatedByPolicy && !tls.insecureSkipVerify && !tls.wellKnownCACertificates && !(tls.caCertificateRefs ?? []).length) {
    return new RouteError('caCertificateRefs or wellKnownCACertificates is required unless insecureSkipVerify is true', Reason.InvalidBackendRef);
  }
  for (const ep of spec.endpoints ?? []) {
    if (ep.hostname) {
      const e = hostnameError(ep.hostname, 'hostname');
      if (e) return e;
    }
    if (ep.fqdn) {
      // On the host, a backend can be a local process: localhost is then a valid name.
      const e = runningOnHost && ep.fqdn.hostname === 'localhost' ? undefined : hostnameError(ep.fqdn.hostname, 'FQDN');
      if (e) return e;
    } else if (ep.ip) {
      const addr = ep.ip.address;
      if (!isIPAddress(addr)) return new RouteError(`IP address ${addr} is invalid`, Reason.InvalidAddress);
      if (isLoopback(addr) && !runningOnHost) {
        return new RouteError(`IP address ${addr} is a loopback address, allowed only with the Host infrastructure`, Reason.InvalidAddress);
      }
    }
  }
  return undefined;
}

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function hostnameError(hostname: string, what: string): RouteError | undefined {
  if (typeof hostname !== 'string' || hostname.length > 253 || !dns1123Subdomain.test(hostname)) {
    return new RouteError(`hostname ${hostname} is not a valid ${what}`, Reason.InvalidAddress);
  }
  if (hostname.split('.').length < 2) {
    return new RouteError(`hostname ${hostname} needs at least two dot-separated labels`, Reason.InvalidAddress);
  }
  if (isIPAddress(hostname)) return new RouteError(`hostname ${hostname} is an IP address`, Reason.InvalidAddress);
  return undefined;
}

export function isIPv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return !!m && m.slice(1).every((p) => Number(p) <= 255 && (p === '0' || !p.startsWith('0')));
}

export function isIPAddress(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  if (isIPv4(s)) return true;
  if (!s.includes(':')) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

function isLoopback(s: string): boolean {
  if (isIPv4(s)) return s.startsWith('127.');
  return s === '::1' || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(s);
}
