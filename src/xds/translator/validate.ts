// Validation of generated resources against Envoy's proto definitions and their
// protoc-gen-validate rules (src/xds/proto), as Envoy itself would check them.
import { checkResource } from '../proto/index.js';
import type { CheckCache } from '../proto/check-cache.js';
import { typeUrls, type ResourceKind, type ResourceValidator } from './resources.js';
import type { Msg } from './util.js';

export const protoValidator: ResourceValidator = (kind: ResourceKind, r: Msg): string[] => {
  const { problems } = checkResource(typeUrls[kind], r);
  return problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
};

/** protoValidator through a cache of earlier answers (see CheckCache). */
export function cachedProtoValidator(cache: CheckCache): ResourceValidator {
  return (kind: ResourceKind, r: Msg): string[] => cache.check(typeUrls[kind], r).problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
}
