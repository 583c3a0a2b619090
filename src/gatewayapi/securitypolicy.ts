// SecurityPolicy: authentication, authorization, CORS and CSRF for the routes a policy reaches
// (the policy attachment decides which). On HTTP routes the policy's features go on the route as a
// whole; a feature that cannot be built makes the route answer 500 — unless only the external
// authorization is broken and it is set to fail open. TCP routes take authorization rules only.
import type { SecurityPolicy, SecurityPolicySpec } from '../api/envoygateway/index.js';
import type * as ir from '../ir/xds.js';
import { SettingError } from './clustersettings.js';
import type { GatewayContext, ListenerContext, RouteContext, WithStatus } from './contexts.js';
import { processPolicies, type PolicyHandler } from './policyattach.js';
import type { PolicyTarget } from './policytargets.js';
import {
  apiKeyAuth, authorization, basicAuth, cidrMatch, cors, csrf, extAuth, geoIPNeeds, geoIPProvider, jwt, oidc, ownersOf, type Owners,
} from './securityfeatures.js';
import type { Translation } from './translation.js';

type Policy = SecurityPolicy;
type Spec = Partial<SecurityPolicySpec>;

export function processSecurityPolicies(t: Translation, routes: readonly RouteContext[]): WithStatus<Policy>[] {
  return processPolicies(t, t.resources.securityPolicies, routes, new SecurityHandler(t));
}

interface Built {
  features: ir.SecurityFeatures;
  errors: string[];
  /** The external authorization alone failed. */
  extAuthFailed: boolean;
  /** Something other than external authorization failed. */
  otherFailed: boolean;
}

class SecurityHandler implements PolicyHandler<Policy> {
  readonly kind = 'SecurityPolicy';
  readonly plural = 'securityPolicies';

  constructor(private readonly t: Translation) {}

  deprecations(policy: Policy): string[] {
    const spec: Spec = policy.spec ?? {};
    const out: string[] = [];
    if (spec.extAuth?.grpc?.backendRef) out.push('spec.extAuth.grpc.backendRef is deprecated, use spec.extAuth.grpc.backendRefs instead');
    if (spec.extAuth?.http?.backendRef) out.push('spec.extAuth.http.backendRef is deprecated, use spec.extAuth.http.backendRefs instead');
    if (spec.targetRef) out.push('spec.targetRef is deprecated, use spec.targetRefs instead');
    return out;
  }

  validateForRoute(_policy: Policy, spec: Spec, tg: PolicyTarget): string | undefined {
    const err = tg.kind === 'TCPRoute' ? validateForTCP(spec) : validate(spec);
    return err && (tg.kind === 'TCPRoute' ? `invalid SecurityPolicy for TCP route: ${err}` : `invalid SecurityPolicy: ${err}`);
  }

  /** Features that do not depend on the Gateway (its EnvoyProxy). */
  private base(spec: Spec, owners: Owners, out: Built): void {
    const build = <K extends keyof ir.SecurityFeatures>(field: K, what: string, make: () => ir.SecurityFeatures[K], other = true) => {
      try {
        out.features[field] = make();
      } catch (e) {
        if (!(e instanceof SettingError)) throw e;
        out.errors.push(`${what}: ${e.message}`);
        if (other) out.otherFailed = true;
        else out.extAuthFailed = true;
      }
    };
    if (spec.cors) out.features.cors = cors(spec.cors);
    if (spec.basicAuth) build('basicAuth', 'BasicAuth', () => basicAuth(this.t, spec.basicAuth!, owners.basicAuth));
    if (spec.apiKeyAuth) build('apiKeyAuth', 'APIKeyAuth', () => apiKeyAuth(this.t, spec.apiKeyAuth!, owners.apiKeyAuth));
    if (spec.authorization) build('authorization', 'Authorization', () => authorization(spec.authorization!, owners.authorization));
    if (spec.csrf) out.features.csrf = csrf(spec.csrf);
  }

  /** Features built against a Gateway's proxy (their backends follow its EnvoyProxy). */
  private withGateway(spec: Spec, owners: Owners, g: GatewayContext, out: Built): void {
    const ep = g.envoyProxy;
    const build = <K extends keyof ir.SecurityFeatures>(field: K, what: string, make: () => ir.SecurityFeatures[K], other: boolean) => {
      try {
        out.features[field] = make();
      } catch (e) {
        if (!(e instanceof SettingError)) throw e;
        out.errors.push(`${what}: ${e.message}`);
        if (other) out.otherFailed = true;
        else out.extAuthFailed = true;
      }
    };
    if (spec.extAuth) build('extAuth', 'ExtAuth', () => extAuth(this.t, spec.extAuth!, owners, ep), false);
    if (spec.oidc) build('oidc', 'OIDC', () => oidc(this.t, spec.oidc!, owners, ep), true);
    if (spec.jwt) build('jwt', 'JWT', () => jwt(this.t, spec.jwt!, owners.jwt, ep), true);
  }

  applyToRoute(policy: Policy, spec: Spec, rc: RouteContext, tg: PolicyTarget, l?: ListenerContext, parent?: Policy): string[] {
    const t = this.t;
    const owners = ownersOf(policy, parent);
    const base: Built = { features: {}, errors: [], extAuthFailed: false, otherFailed: false };
    this.base(spec, owners, base);
    const errors = [...base.errors];
    const prefix = rc.irPrefix;
    const sectionOk = (md: ir.ResourceMetadata | undefined) => tg.sectionName === undefined || md?.sectionName === tg.sectionName;
    for (const pc of rc.parents) {
      const g = pc.gateway;
      if (!g || (l && g !== l.gateway)) continue;
      const built: Built = { features: { ...base.features }, errors: [], extAuthFailed: false, otherFailed: base.otherFailed };
      this.withGateway(spec, owners, g, built);
      errors.push(...built.errors);
      const features = order(built.features);
      const xds = t.xdsIR[t.irKey(g)];
      if (!xds) continue;
      const listeners = pc.listeners.filter((x) => !l || x === l);
      if (rc.kind === 'TCPRoute') {
        for (const x of listeners) {
          const tl = (xds.tcp ?? []).find((h) => h.name === x.irName);
          for (const r of tl?.routes ?? []) {
            if (!sectionOk(r.destination?.metadata) || r.authorization) continue;
            if (features.authorization) r.authorization = structuredClone(features.authorization);
          }
        }
        continue;
      }
      if (rc.kind !== 'HTTPRoute' && rc.kind !== 'GRPCRoute') continue;
      const hasErrors = errors.length > 0;
      for (const x of listeners) {
        const h = (xds.http ?? []).find((hl) => hl.name === x.irName);
        if (!h) continue;
        let geoChecked = false;
        let geoFailed = false;
        let otherFailed = built.otherFailed;
        for (const r of h.routes ?? []) {
          if (!sectionOk(r.metadata) || !r.name.startsWith(prefix) || r.security) continue;
          r.security = features;
          if (!geoChecked && geoIPNeeds(features.authorization).used) {
            geoChecked = true;
            const geo = geoIPProvider(features.authorization!, g.envoyProxy, h.clientIPDetection);
            if ('error' in geo) {
              errors.push(`Authorization: ${geo.error}`);
              geoFailed = true;
              otherFailed = true;
            } else h.geoIPProvider = geo.provider;
          }
          if (geoFailed || hasErrors) {
            const failOpen = built.extAuthFailed && !otherFailed && !!spec.extAuth?.failOpen;
            if (!failOpen) r.directResponse = { statusCode: 500 };
          }
        }
      }
    }
    return errors;
  }

  applyToListeners(policy: Policy, g: GatewayContext, listeners: readonly ListenerContext[]): string[] {
    const t = this.t;
    const spec: Spec = policy.spec ?? {};
    const owners = ownersOf(policy);
    const built: Built = { features: {}, errors: [], extAuthFailed: false, otherFailed: false };
    this.base(spec, owners, built);
    this.withGateway(spec, owners, g, built);
    const features = order(built.features);
    const errors = [...built.errors];
    const xds = t.xdsIR[t.irKey(g)];
    if (!xds) return errors;
    const names = new Set(listeners.map((l) => l.irName));
    const hasErrors = errors.length > 0;
    for (const h of xds.http ?? []) {
      if (!names.has(h.name)) continue;
      let geoFailed = false;
      let otherFailed = built.otherFailed;
      if (geoIPNeeds(features.authorization).used) {
        const geo = geoIPProvider(features.authorization!, g.envoyProxy, h.clientIPDetection);
        if ('error' in geo) {
          errors.push(`Authorization: ${geo.error}`);
          geoFailed = true;
          otherFailed = true;
        } else h.geoIPProvider = geo.provider;
      }
      const broken = (geoFailed || hasErrors) && !(built.extAuthFailed && !otherFailed && !!spec.extAuth?.failOpen);
      for (const r of h.routes ?? []) {
        if (r.security) continue;
        r.security = features;
        if (broken) r.directResponse = { statusCode: 500 };
      }
    }
    if (features.authorization) {
      for (const tl of xds.tcp ?? []) {
        if (!names.has(tl.name)) continue;
        for (const r of tl.routes ?? []) if (!r.authorization) r.authorization = structuredClone(features.authorization);
      }
    }
    return errors;
  }
}

/** The features in the IR's field order. */
function order(f: ir.SecurityFeatures): ir.SecurityFeatures {
  const { cors, jwt, oidc, apiKeyAuth, basicAuth, extAuth, authorization, csrf } = f;
  const out: ir.SecurityFeatures = { cors, jwt, oidc, apiKeyAuth, basicAuth, extAuth, authorization, csrf };
  for (const k of Object.keys(out) as (keyof ir.SecurityFeatures)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** Constraints the CRD schema cannot express. */
function validate(spec: Spec): string | undefined {
  for (const e of spec.apiKeyAuth?.extractFrom ?? []) {
    if ([e.headers?.length, e.params?.length, e.cookies?.length].filter(Boolean).length > 1) return 'only one of headers, params or cookies must be specified';
  }
  if (spec.oidc?.passThroughAuthHeader) {
    if (!spec.jwt) return 'the OIDC.PassThroughAuthHeader setting must be used in conjunction with JWT settings';
    const ok = (spec.jwt.providers ?? []).some((p) => !p.extractFrom || p.extractFrom.headers?.length);
    if (!ok) return 'the OIDC.PassThroughAuthHeader setting must be used in conjunction with a JWT provider that is configured to read from a header';
  }
  return undefined;
}

/** TCP routes take authorization by client address only. */
function validateForTCP(spec: Spec): string | undefined {
  if (spec.cors || spec.jwt || spec.oidc || spec.apiKeyAuth || spec.basicAuth || spec.extAuth) return 'only authorization is supported for TCP (routes/listeners)';
  const rules = spec.authorization?.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.cel) return `rule ${i}: CEL not supported for TCP`;
    const p = r.principal;
    if (!p) continue;
    if (p.jwt) return `rule ${i}: JWT not supported for TCP`;
    if (p.headers?.length) return `rule ${i}: headers not supported for TCP`;
    if (p.clientIPGeoLocations?.length) return `rule ${i}: clientIPGeoLocations not supported for TCP`;
    for (const c of p.clientCIDRs ?? []) {
      try {
        cidrMatch(c);
      } catch {
        return `rule ${i}: invalid ClientCIDR "${c}"`;
      }
    }
  }
  return undefined;
}
