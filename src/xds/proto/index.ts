// Envoy's API on the wire: resources in the proto3 JSON mapping ↔ protobuf binary, checked against
// Envoy's own proto definitions (with their protoc-gen-validate rules, see validate.ts).
//
//   toBinary('type.googleapis.com/envoy.config.cluster.v3.Cluster', json) → Uint8Array
//   fromBinary('envoy.config.cluster.v3.Cluster', bytes) → canonical JSON
//
// Both throw ProtoError, whose `field` is the path of the offending value and `reason` says what
// is wrong with it; the message combines the two.
import { decodeMessage } from './decode.js';
import { encodeMessage } from './encode.js';
import { ProtoError } from './errors.js';
import { type MessageType, messageName, registry } from './registry.js';
import { type ValidationProblem, validateMessage } from './validate.js';

export { ProtoError } from './errors.js';
export { type ValidationProblem, formatValidationProblem } from './validate.js';
export { TYPE_URL, typeUrlOf, type ResourceTypeUrl } from './type-urls.js';
export { REDACTED, REDACTED_BYTES, redactSensitive } from './redact.js';

function typeOf(typeUrlOrName: string): MessageType {
  const type = registry().findMessage(messageName(typeUrlOrName));
  if (!type) throw new ProtoError(`unknown message type ${JSON.stringify(typeUrlOrName)}`);
  return type;
}

/** Whether Envoy's API (as loaded) has this message type. */
export function hasType(typeUrlOrName: string): boolean {
  return registry().findMessage(messageName(typeUrlOrName)) !== undefined;
}

/** Encodes a message given in the proto3 JSON mapping. */
export function toBinary(typeUrlOrName: string, json: unknown): Uint8Array {
  return encodeMessage(typeOf(typeUrlOrName), json);
}

/** Decodes a message into the canonical proto3 JSON mapping. */
export function fromBinary(typeUrlOrName: string, bytes: Uint8Array): unknown {
  return decodeMessage(typeOf(typeUrlOrName), bytes);
}

/** JSON → binary → JSON: the canonical form of a message (defaults dropped, names normalised). */
export function canonicalJson(typeUrlOrName: string, json: unknown): unknown {
  const type = typeOf(typeUrlOrName);
  return decodeMessage(type, encodeMessage(type, json));
}

/**
 * The protoc-gen-validate rule violations of a message (through nested Any by @type); empty when
 * it is valid. Values the codec would refuse are not reported here: see checkResource.
 */
export function validate(typeUrlOrName: string, json: unknown): ValidationProblem[] {
  return validateMessage(typeOf(typeUrlOrName), json);
}

/**
 * Everything Envoy would refuse in a resource: the codec's error (unknown field or type, wrong
 * value type; rule `schema`) and the rule violations. Returns the bytes too when the codec
 * succeeded, so a caller that serves the resource encodes it only once.
 */
export function checkResource(typeUrlOrName: string, json: unknown): { problems: ValidationProblem[]; bytes?: Uint8Array } {
  const type = typeOf(typeUrlOrName);
  const problems = validateMessage(type, json);
  try {
    return { problems, bytes: encodeMessage(type, json) };
  } catch (err) {
    if (!(err instanceof ProtoError)) throw err;
    problems.unshift({ field: err.field, message: err.reason, rule: 'schema' });
    return { problems };
  }
}

/** Loads Envoy's API now rather than on first use (e.g. before serving), returning the time it took in ms. */
export function preload(): number {
  const start = performance.now();
  registry();
  return performance.now() - start;
}
