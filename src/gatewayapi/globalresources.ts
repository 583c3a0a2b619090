// Resources of a whole proxy rather than of a listener or route: the cluster of the proxy's own
// Service (used by features that route back through the proxy), and the client certificate
// the proxy shows Envoy Gateway's services (the rate limit service, the Wasm module server)
// when some route uses them.
import type { AppProtocol, Xds } from '../ir/xds.js';
import { serviceDestination } from './destinations.js';
import { OwningGatewayClassLabel, OwningGatewayNameLabel, OwningGatewayNamespaceLabel } from './gateways.js';
import type { Translation } from './translation.js';

export function processGlobalResources(t: Translation): void {
  for (const g of t.accepted) {
    const key = t.irKey(g);
    const labels: Record<string, string> = t.mergeGateways
      ? { [OwningGatewayClassLabel]: t.settings.gatewayClassName }
      : { [OwningGatewayNamespaceLabel]: g.namespace, [OwningGatewayNameLabel]: g.name };
    const ns = t.settings.gatewayNamespaceMode ? g.namespace : t.settings.controllerNamespace;
    const svc = t.resources.services.find(
      (s) => s.metadata.namespace === ns && Object.entries(labels).every(([k, v]) => s.metadata.labels?.[k] === v),
    );
    if (!svc || !t.xdsIR[key]) continue;
    const port = svc.spec?.ports?.[0];
    if (!port) continue;
    const ref = { kind: 'Service', name: svc.metadata.name, namespace: svc.metadata.namespace, port: port.port };
    // The Service port's protocol (TCP) is the cluster's protocol, as Envoy Gateway takes it.
    const protocol = (port.protocol || 'TCP') as AppProtocol;
    const r = serviceDestination(t, key, ref, svc.metadata.namespace ?? ns, protocol, 'Service', t.resources.envoyProxyForGatewayClass);
    if ('error' in r) continue;
    const gr = (t.xdsIR[key]!.globalResources ??= {});
    gr.proxyServiceCluster = { name: key, settings: [r.ds], metadata: r.ds.metadata };
  }
  for (const [key, xds] of Object.entries(t.xdsIR)) {
    if (!needsClientCertificate(xds)) continue;
    const secret = t.lookups.secret(t.settings.controllerNamespace, EnvoyClientSecret);
    if (!secret?.data?.['tls.crt']) continue;
    const gr = (t.xdsIR[key]!.globalResources ??= {});
    gr.envoyClientCertificate = { name: `${t.settings.controllerNamespace}/${EnvoyClientSecret}`, certificate: secret.data['tls.crt'], privateKey: secret.data['tls.key'] };
  }
}

/** The Secret (in the controller namespace) holding the proxies' client certificate. */
const EnvoyClientSecret = 'envoy';

function needsClientCertificate(xds: Xds): boolean {
  return (xds.http ?? []).some((l) => (l.routes ?? []).some((r) => r.traffic?.rateLimit?.global || r.envoyExtensions?.wasms?.length));
}
