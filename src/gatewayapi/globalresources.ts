// Resources of a whole proxy rather than of a listener or route: the cluster of the proxy's own
// Service (used by features that route back through the proxy).
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
    const r = serviceDestination(t, key, ref, svc.metadata.namespace ?? ns, port.protocol || 'TCP', 'Service', t.resources.envoyProxyForGatewayClass);
    if ('error' in r) continue;
    const gr = (t.xdsIR[key]!.globalResources ??= {});
    gr.proxyServiceCluster = { name: key, settings: [r.ds], metadata: r.ds.metadata };
  }
}
