// Validation of generated resources against Envoy's proto definitions and their
// protoc-gen-validate rules (src/xds/proto), as Envoy itself would check them.
import { checkResource } from '../proto/index.js';
import { typeUrls, type ResourceKind, type ResourceValidator } from './resources.js';
import type { Msg } from './util.js';

export const protoValidator: ResourceValidator = (kind: ResourceKind, r: Msg): string[] => {
  const { problems } = checkResource(typeUrls[kind], r);
  return problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
};
