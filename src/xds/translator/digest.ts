// Content digests of Envoy messages, for names that must change exactly when the configuration
// does (Envoy Gateway names JWT providers and requirements this way): SHA-256 over the message's
// binary encoding, written as Go's protobuf library writes it (ordinary fields by number, then
// the fields of oneofs), so that the names agree with Envoy Gateway's.
import { createHash } from 'node:crypto';
import { toBinary } from '../proto/index.js';
import { registry } from '../proto/registry.js';
import type { Msg } from './util.js';

/** The message with its keys (recursively) in Go's wire order. */
function inWireOrder(typeName: string, msg: Msg): Msg {
  const type = registry().findMessage(typeName);
  if (!type || type.wellKnown) return msg;
  const fields = Object.keys(msg).map((key) => ({ key, field: type.byKey.get(key) }));
  fields.sort((a, b) => {
    const fa = a.field;
    const fb = b.field;
    if (!fa || !fb) return 0;
    if (!!fa.oneof !== !!fb.oneof) return fa.oneof ? 1 : -1;
    return fa.number - fb.number;
  });
  const out: Msg = {};
  for (const { key, field } of fields) {
    const v = msg[key];
    if (field?.kind === 'message' && !field.isMap && v !== null && typeof v === 'object') {
      const name = field.message.fullName;
      out[key] = Array.isArray(v) ? v.map((e) => inWireOrder(name, e)) : inWireOrder(name, v);
    } else {
      out[key] = v;
    }
  }
  return out;
}

/** The first 8 bytes (16 hex digits) of the SHA-256 of a message's deterministic encoding. */
export function messageDigest(typeName: string, msg: Msg): string {
  const bytes = toBinary(typeName, inWireOrder(typeName, msg));
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}
