// The xds golden suite: each case is one xDS IR; the output is the translated resources (and
// the EnvoyPatchPolicy statuses when the case has policies), or {"error": ...} when translation
// or validation fails.
import { parseXdsIR } from '../../ir/load.js';
import { translateXds } from '../../xds/translator/index.js';
import { settingsFor, type Harness } from './harness.js';
import type { Suite } from './main.js';

export const xdsSuite: Suite = {
  runCase(name: string, input: string, harness: Harness): unknown {
    const settings = settingsFor(harness, 'xds', name);
    const ir = parseXdsIR(input);
    const { resources } = translateXds(ir, {
      controllerNamespace: settings.controllerNamespace,
      dnsDomain: settings.dnsDomain,
      runtimeFlags: settings.runtimeFlags,
    });
    const out: Record<string, unknown> = {
      listeners: resources.listeners,
      routes: resources.routes,
      clusters: resources.clusters,
      endpoints: resources.endpoints,
    };
    if (resources.secrets.length) out.secrets = resources.secrets;
    return out;
  },
};
