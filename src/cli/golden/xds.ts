// The xds golden suite: each case is one xDS IR; the output is the translated resources (and
// the EnvoyPatchPolicy statuses when the case has policies), or {"error": ...} when translation
// or validation fails.
import { parseXdsIR } from '../../ir/load.js';
import { translateXds } from '../../xds/translator/index.js';
import { protoValidator } from '../../xds/translator/validate.js';
import { settingsFor, type Harness } from './harness.js';
import type { Suite } from './main.js';

export const xdsSuite: Suite = {
  runCase(name: string, input: string, harness: Harness): unknown {
    const settings = settingsFor(harness, 'xds', name);
    const ir = parseXdsIR(input);
    const { resources, errors, envoyPatchPolicies } = translateXds(ir, {
      controllerNamespace: settings.controllerNamespace,
      dnsDomain: settings.dnsDomain,
      runtimeFlags: settings.runtimeFlags,
      validator: protoValidator,
    });
    // As in Envoy Gateway's own test harness, a translation with errors fails the case, except
    // for the cases named *partial-invalid, which check what is still produced next to the errors.
    if (errors.length && !name.endsWith('partial-invalid')) throw new Error(errors.join('\n'));
    const out: Record<string, unknown> = {
      listeners: resources.listeners,
      routes: resources.routes,
      clusters: resources.clusters,
      endpoints: resources.endpoints,
    };
    if (resources.secrets.length) out.secrets = resources.secrets;
    if (envoyPatchPolicies) out.envoypatchpolicies = envoyPatchPolicies;
    return out;
  },
};
