// Envoy metadata that records which Gateway API / Envoy Gateway resources a generated resource
// came from (filter_metadata["envoy-gateway"].resources), for stats, access logs and debugging.
import type { ResourceMetadata } from '../../ir/xds.js';
import type { Msg } from './util.js';

/** filter_metadata for one origin resource; undefined when there is nothing to say. */
export function buildResourceMetadata(md: ResourceMetadata | undefined): Msg | undefined {
  if (!md || (!md.kind && !md.name && !md.namespace)) return undefined;
  const r: Msg = {};
  if (md.kind) r.kind = md.kind;
  if (md.name) r.name = md.name;
  if (md.namespace) r.namespace = md.namespace;
  if (md.sectionName) r.sectionName = md.sectionName;
  if (md.annotations?.length) {
    const a: Msg = {};
    for (const e of md.annotations) a[e.key] = e.value;
    r.annotations = a;
  }
  const eg: Msg = { resources: [r] };
  // The policies applied to the element sit beside its resources, not inside them.
  if (md.policies?.length) eg.policies = md.policies.map((p) => ({ ...p }));
  return { filterMetadata: { 'envoy-gateway': eg } };
}
