// Envoy Gateway applies EnvoyPatchPolicies to resources written with the proto field names
// (snake_case, protojson's UseProtoNames), so patches address `/filter_chains/0/...`. Our
// resources are in the proto3 JSON mapping (lowerCamelCase): this renames keys by the schema,
// through nested messages, maps and Any (by its @type). Reading back accepts either style.
import { registry, messageName, type MessageType } from '../proto/registry.js';
import type { JSON } from './pointer.js';

function isObject(v: unknown): v is Record<string, JSON> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A message in the proto3 JSON mapping, with its keys renamed to the proto field names. */
export function toProtoNames(typeUrlOrName: string, json: JSON): JSON {
  const type = registry().findMessage(messageName(typeUrlOrName));
  return type ? convertMessage(type, json) : json;
}

function convertMessage(type: MessageType, json: JSON): JSON {
  if (!isObject(json)) return json;
  switch (type.wellKnown) {
    case 'Any': {
      const url = json['@type'];
      const inner = typeof url === 'string' ? registry().findMessage(messageName(url)) : undefined;
      if (!inner) return json;
      if (inner.wellKnown && inner.wellKnown !== 'Any') {
        // Well-known types in an Any keep their JSON form under "value".
        return { '@type': url!, value: json.value ?? null };
      }
      const out: Record<string, JSON> = { '@type': url! };
      const body = convertMessage(inner, Object.fromEntries(Object.entries(json).filter(([k]) => k !== '@type')));
      if (isObject(body)) Object.assign(out, body);
      return out;
    }
    case undefined:
      break;
    default:
      return json; // Struct, Value, wrappers, Duration...: no field names inside.
  }
  const out: Record<string, JSON> = {};
  for (const [k, v] of Object.entries(json)) {
    const f = type.byKey.get(k);
    if (!f) {
      out[k] = v;
      continue;
    }
    if (f.kind !== 'message') {
      out[f.name] = v;
    } else if (f.isMap && isObject(v)) {
      out[f.name] = Object.fromEntries(Object.entries(v).map(([mk, mv]) => [mk, convertMessage(f.message, mv)]));
    } else if (f.repeated && Array.isArray(v)) {
      out[f.name] = v.map((x) => convertMessage(f.message, x));
    } else {
      out[f.name] = convertMessage(f.message, v);
    }
  }
  return out;
}
