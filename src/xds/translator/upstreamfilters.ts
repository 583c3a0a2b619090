// HTTP filters that run on a cluster's upstream requests (HttpProtocolOptions.http_filters), after
// the route picked the backend: credentials injected for one backend (a backendRef filter) and
// admission control, which sheds load when the backend's success rate drops. Envoy requires the
// upstream codec as the last of them.
import type { AdmissionControl, CredentialInjection, DestinationSetting } from '../../ir/xds.js';
import { adsConfigSource, protoDuration, typed, type Msg } from './util.js';

const grpcCodes: Record<string, number> = {
  Ok: 0, Cancelled: 1, Unknown: 2, InvalidArgument: 3, DeadlineExceeded: 4, NotFound: 5, AlreadyExists: 6,
  PermissionDenied: 7, ResourceExhausted: 8, FailedPrecondition: 9, Aborted: 10, OutOfRange: 11,
  Unimplemented: 12, Internal: 13, Unavailable: 14, DataLoss: 15, Unauthenticated: 16,
};

/** The name of the SDS secret an injected credential is served as. */
export function credentialSecretName(filterName: string): string {
  return `credential_injector/credential/${filterName}`;
}

/** The SDS secret holding an injected credential (the IR's bytes, as they are). */
export function credentialSecret(ci: CredentialInjection): Msg {
  return { name: credentialSecretName(ci.name), genericSecret: { secret: { inlineBytes: ci.credential ?? '' } } };
}

/** The name of the credential_injector filter of one HTTPRouteFilter. */
export function credentialInjectorName(ci: CredentialInjection): string {
  return `envoy.filters.http.credential_injector/${ci.name}`;
}

/** The credential_injector filter of one HTTPRouteFilter, on a route or on a backend. */
export function credentialInjectorFilter(ci: CredentialInjection): Msg {
  const generic: Msg = { credential: { name: credentialSecretName(ci.name), sdsConfig: adsConfigSource() } };
  if (ci.header) generic.header = ci.header;
  const cfg: Msg = {
    credential: { name: 'envoy.http.injected_credentials.generic', typedConfig: typed('envoy.extensions.http.injected_credentials.generic.v3.Generic', generic) },
  };
  if (ci.overwrite) cfg.overwrite = true;
  return { name: credentialInjectorName(ci), typedConfig: typed('envoy.extensions.filters.http.credential_injector.v3.CredentialInjector', cfg) };
}

function admissionControl(a: AdmissionControl): Msg {
  const cfg: Msg = { enabled: { defaultValue: true } };
  if (a.samplingWindow) cfg.samplingWindow = protoDuration(a.samplingWindow);
  if (a.rejectionAggression !== undefined) cfg.aggression = { defaultValue: a.rejectionAggression };
  if (a.minSuccessRate !== undefined) cfg.srThreshold = { defaultValue: { value: a.minSuccessRate } };
  if (a.minRequestRate !== undefined) cfg.rpsThreshold = { defaultValue: a.minRequestRate };
  if (a.maxRejectionPercent !== undefined) cfg.maxRejectionProbability = { defaultValue: { value: a.maxRejectionPercent } };
  const criteria: Msg = {};
  const http = a.successCriteria?.http?.statusCodes;
  if (http?.length) criteria.httpCriteria = { httpSuccessStatus: http.map((c) => ({ start: c, end: c + 1 })) };
  const grpc = a.successCriteria?.grpc?.statusCodes;
  if (grpc?.length) criteria.grpcCriteria = { grpcSuccessStatus: grpc.map((c) => grpcCodes[c] ?? Number(c)) };
  cfg.successCriteria = criteria;
  return cfg;
}

/** The upstream filters of a cluster (empty when it needs none). */
export function upstreamHTTPFilters(settings: DestinationSetting[], admission: AdmissionControl | undefined): Msg[] {
  const out: Msg[] = [];
  for (const s of settings) {
    const ci = s.filters?.credentialInjection;
    if (ci) out.push(credentialInjectorFilter(ci));
  }
  if (admission) {
    out.push({ name: 'envoy.filters.http.admission_control', typedConfig: typed('envoy.extensions.filters.http.admission_control.v3.AdmissionControl', admissionControl(admission)) });
  }
  if (out.length) {
    out.push({ name: 'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec', typedConfig: typed('envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec') });
  }
  return out;
}
