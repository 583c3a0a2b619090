// Corpus resources that the API server itself would refuse, and why. The golden cases include
// them on purpose: they test how the translator treats input that slipped past admission (or
// was written by hand). Keyed `<case>: <Kind namespace/name>`; the corpus test checks that
// exactly these are rejected, so a rule that starts refusing valid input fails the test.
const required = (what: string) => `${what} is required by the CRD`;
const headerRule = 'header modifiers: names are RFC 7230 tokens, values non-empty, each name listed once (list-map key)';
const repeated = 'the CRD forbids repeating this core filter in one list';
const listenerUnique = 'listener port/protocol/hostname combinations must be unique (CRD rule)';

export const corpusExceptions: Record<string, string> = {
  'backend-with-auto-san-sni: BackendTLSPolicy backends/policy-btls': required('subjectAltNames[].type'),
  'backendtlspolicy-default-ns: BackendTLSPolicy default/policy-btls-backend-ip-2': 'sectionName is a string; the YAML has a number',
  'envoyproxy-tls-settings-invalid: Gateway envoy-gateway/gateway-tls': required('listener name'),
  'envoyproxy-tls-settings: Gateway envoy-gateway/gateway-tls': required('listener name'),
  'gateway-tls-frontend-backend: HTTPRoute default/invalid-gateway-backend-client-cert-no-fallback': 'hostnames are lowercase (mTLS.example.org)',
  'gateway-with-conflicting-listeners-one-invalid-ref: Gateway envoy-gateway/gateway-1': listenerUnique,
  'gateway-with-listener-with-invalid-tls-configuration-invalid-mode: Gateway envoy-gateway/gateway-1': 'HTTPS listeners must use tls.mode Terminate (CRD rule)',
  'gateway-with-listener-with-invalid-tls-configuration-no-certificate-refs: Gateway envoy-gateway/gateway-1': 'tls.mode Terminate needs certificateRefs or options (CRD rule)',
  'gateway-with-listener-with-tcp-with-hostname: Gateway envoy-gateway/gateway-1': 'TCP listeners take no hostname (CRD rule)',
  'gateway-with-listener-with-udp-with-hostname: Gateway envoy-gateway/gateway-1': 'UDP listeners take no hostname (CRD rule)',
  'gateway-with-two-listeners-on-same-tcp-or-tls-port: Gateway envoy-gateway/gateway-1': 'TLS listeners need tls (CRD rule)',
  'gateway-with-two-listeners-on-same-udp-port: Gateway envoy-gateway/gateway-1': listenerUnique,
  'gateway-with-two-listeners-with-same-port-and-hostname: Gateway envoy-gateway/gateway-1': listenerUnique,
  'gateway-with-two-listeners-with-same-port-http-tcp-protocol: Gateway envoy-gateway/gateway-1': 'a listener hostname of "*" is not a Hostname ("*." prefix needed)',
  'gateway-with-two-listeners-with-same-port-http-udp-protocol: Gateway envoy-gateway/gateway-1': 'a listener hostname of "*" is not a Hostname ("*." prefix needed)',
  'grpcroute-with-request-header-modifier: GRPCRoute default/grpcroute-1': repeated,
  'httproute-with-cors-filter: HTTPRoute default/httproute-cors-wildcard': 'allowMethods may not list "*" beside other methods (CRD rule)',
  'httproute-with-header-filter-duplicate-add-multiple-filters: HTTPRoute default/httproute-1': repeated,
  'httproute-with-header-filter-duplicate-adds: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-header-filter-duplicate-remove-multiple-filters: HTTPRoute default/httproute-1': repeated,
  'httproute-with-header-filter-duplicate-removes: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-header-filter-empty-header-values: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-header-filter-empty-headers: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-header-filter-invalid-headers: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-header-filter-no-valid-headers: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-invalid-backend-ref-no-port: HTTPRoute default/httproute-1': 'a Service backendRef needs a port (CRD rule)',
  'httproute-with-mirror-filter-service-no-port: HTTPRoute default/httproute-1': 'a Service backendRef needs a port (CRD rule)',
  'httproute-with-query-match-diff-type: HTTPRoute default/httproute-2': 'query parameter values are strings; the YAML has a number',
  'httproute-with-redirect-filter-invalid-status: HTTPRoute default/httproute-1': 'redirect statusCode is one of 301, 302, 303, 307, 308',
  'httproute-with-response-header-filter-duplicate-add-multiple-filters: HTTPRoute default/httproute-1': repeated,
  'httproute-with-response-header-filter-duplicate-adds: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-response-header-filter-duplicate-removes: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-response-header-filter-empty-header-values: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-response-header-filter-empty-headers: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-response-header-filter-no-valid-headers: HTTPRoute default/httproute-1': headerRule,
  'httproute-with-urlrewrite-filter-invalid-hostname: HTTPRoute default/httproute-1': 'rewrite hostnames are RFC 1123 hostnames',
  'httproute-with-urlrewrite-filter-invalid-multiple-filters: HTTPRoute default/httproute-1': repeated,
  'httproute-with-urlrewrite-filter-invalid-path: HTTPRoute default/httproute-1': 'a path modifier sets only the field its type names (CRD rule)',
  'httproute-with-urlrewrite-filter-missing-path: HTTPRoute default/httproute-1': 'a path modifier sets the field its type names (CRD rule)',
  'listenerset-conflict-listeners: ListenerSet gateway-xls/conflict-listener-from-same-xls': listenerUnique,
  'listenerset-conflict-listeners: ListenerSet gateway-xls/same-xls-dup-conflict-with-gateway': listenerUnique,
  'sds-disabled: BackendTLSPolicy default/policy-btls': required('targetRefs[].group'),
  'sds-invalid: BackendTLSPolicy default/policy-multiple-sds': required('targetRefs[].group'),
  'sds-invalid: BackendTLSPolicy default/policy-sds-with-configmap': required('targetRefs[].group'),
  'sds-invalid: BackendTLSPolicy default/policy-sds-with-secret': required('targetRefs[].group'),
  'sds-invalid: BackendTLSPolicy default/policy-invalid-sds-url': required('targetRefs[].group'),
  'tcproute-with-backendtlspolicy: BackendTLSPolicy default/policy-btls-for-service-1': required('targetRefs[].group'),
  'tlsroute-with-tls-listener-missing-mode: Gateway envoy-gateway/gateway-1': 'TLS listeners need tls (CRD rule)',
};
