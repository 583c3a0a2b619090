// Validation of a resource against the protoc-gen-validate rules annotated in Envoy's protos, as
// Envoy applies them when it accepts a configuration: every message reachable from the resource,
// through Any by its @type. One validator is compiled per message type, on first use.
//
// The input is a resource in the proto3 JSON mapping (either name style); values the codec would
// reject are not reported here, so run the codec too (checkResource does both).
import { MapKey, type PathSegment, renderPath } from './errors.js';
import {
  type Check, type Reporter, anyCheck, boolCheck, bytesCheck, durationCheck, enumCheck, numericCheck, stringCheck,
  timestampCheck,
} from './pgv.js';
import { type FieldType, type MessageType, messageName, registry } from './registry.js';
import type { FieldRules, ScalarType } from './schema.js';

export interface ValidationProblem {
  /** Path of the offending value, e.g. `filterChains[0].filters[0].typedConfig.statPrefix`. */
  field: string;
  /** What is wrong, e.g. `must be at least 1 characters long, got ""`. */
  message: string;
  /** The rule broken, e.g. `string.min_len`, `message.required`, `oneof.required`, or `schema` for the codec. */
  rule: string;
}

type JsonObject = Record<string, unknown>;

/** Checks for one field: for each present element, and whether the field may be absent. */
interface FieldValidator {
  field: FieldType;
  /** Rules of a single value: the field's own (scalar, enum, wrapper, Duration, Any...). */
  element: Check | undefined;
  /** Rules of each map key. */
  key: Check | undefined;
  /** For repeated fields and maps: count and uniqueness. */
  collection: ((value: unknown, report: Reporter) => void) | undefined;
  /** Descend into message values (unless message.skip). */
  descend: boolean;
  /** Problem to report when the field is absent, if absence breaks a rule. */
  absent: { rule: string; message: string } | undefined;
}

interface MessageValidator {
  byKey: Map<string, FieldValidator>;
  /** Fields whose absence breaks a rule. */
  absentChecks: FieldValidator[];
  /** Oneofs that must have a member set: their members' keys (both name styles). */
  requiredOneofs: Array<{ name: string; keys: string[]; members: string }>;
  /** Whether anything under this message can break a rule (false: skip the walk). */
  active: boolean;
}

const compiled = new Map<MessageType, MessageValidator>();
const activity = new Map<MessageType, boolean>();

/**
 * Whether any rule can fire in a message or below it; inactive subtrees are not walked. Any is
 * active (it can hold anything); a type met again while it is being decided counts as active, so
 * cycles err on the side of walking.
 */
function isActive(type: MessageType): boolean {
  const known = activity.get(type);
  if (known !== undefined) return known;
  if (type.wellKnown) {
    activity.set(type, type.wellKnown === 'Any');
    return type.wellKnown === 'Any';
  }
  activity.set(type, true);
  const active = !type.schema.validateDisabled && (
    (type.schema.oneofs ?? []).some((o) => o.required) ||
    type.fields.some((f) => f.schema.rules !== undefined || (f.kind === 'message' && isActive(f.message))));
  activity.set(type, active);
  return active;
}

function scalarRules(type: ScalarType | 'enum' | 'message', rules: FieldRules): Check | undefined {
  switch (type) {
    case 'string': return rules.string && stringCheck(rules.string);
    case 'bytes': return rules.bytes && bytesCheck(rules.bytes);
    case 'bool': return rules.bool && boolCheck(rules.bool);
    case 'enum': case 'message': return undefined;
    default: {
      const r = rules[type];
      return r && numericCheck(type, r);
    }
  }
}

/** The wrapped scalar type of google.protobuf.*Value wrappers. */
const WRAPPED: Record<string, ScalarType> = {
  DoubleValue: 'double', FloatValue: 'float', Int64Value: 'int64', UInt64Value: 'uint64', Int32Value: 'int32',
  UInt32Value: 'uint32', BoolValue: 'bool', StringValue: 'string', BytesValue: 'bytes',
};

/** The check of one value of `field` (an element of a list or map, or the field itself). */
function elementCheck(field: FieldType, rules: FieldRules | undefined): Check | undefined {
  if (!rules) return undefined;
  if (field.kind === 'enum') return rules.enum && enumCheck(field.enumType, rules.enum);
  if (field.kind === 'scalar') return scalarRules(field.scalar, rules);
  const wk = field.message.wellKnown;
  if (wk === 'Duration') return rules.duration && durationCheck(rules.duration);
  if (wk === 'Timestamp') return rules.timestamp && timestampCheck(rules.timestamp);
  if (wk === 'Any') return rules.any && anyCheck(rules.any);
  if (wk && WRAPPED[wk]) return scalarRules(WRAPPED[wk]!, rules);
  return undefined;
}

/** The default value of an implicit-presence field, as absent fields are validated with it. */
function defaultValue(field: FieldType): unknown {
  if (field.kind === 'enum') return 0;
  switch (field.scalar) {
    case 'string': case 'bytes': return '';
    case 'bool': return false;
    default: return 0;
  }
}

function compileField(field: FieldType): FieldValidator {
  const rules = field.schema.rules;
  const v: FieldValidator = { field, element: undefined, key: undefined, collection: undefined, descend: false, absent: undefined };
  const isMessage = field.kind === 'message';
  if (field.isMap) {
    const m = rules?.map;
    v.element = elementCheck(field, m?.values);
    v.key = m?.keys ? scalarRules(field.keyType!, m.keys) : undefined;
    if (m && (m.min_pairs !== undefined || m.max_pairs !== undefined)) {
      v.collection = (value, report) => {
        const n = Object.keys(value as JsonObject).length;
        if (m.ignore_empty && n === 0) return;
        if (m.min_pairs !== undefined && n < m.min_pairs) report.fail('map.min_pairs', `must have at least ${m.min_pairs} entries, got ${n}`);
        if (m.max_pairs !== undefined && n > m.max_pairs) report.fail('map.max_pairs', `must have at most ${m.max_pairs} entries, got ${n}`);
      };
      if (m.min_pairs && !m.ignore_empty) v.absent = { rule: 'map.min_pairs', message: `must have at least ${m.min_pairs} entries, got none` };
    }
    v.descend = isMessage && !m?.values?.message?.skip && isActive(field.message);
  } else if (field.repeated) {
    const r = rules?.repeated;
    v.element = elementCheck(field, r?.items);
    if (r && (r.min_items !== undefined || r.max_items !== undefined || r.unique)) {
      v.collection = (value, report) => {
        const list = value as unknown[];
        if (r.ignore_empty && list.length === 0) return;
        if (r.min_items !== undefined && list.length < r.min_items) report.fail('repeated.min_items', `must have at least ${r.min_items} items, got ${list.length}`);
        if (r.max_items !== undefined && list.length > r.max_items) report.fail('repeated.max_items', `must have at most ${r.max_items} items, got ${list.length}`);
        if (r.unique) {
          const seen = new Set<string>();
          for (const item of list) {
            const k = JSON.stringify(item);
            if (seen.has(k)) {
              report.fail('repeated.unique', `items must be unique, ${k} appears more than once`);
              break;
            }
            seen.add(k);
          }
        }
      };
      if (r.min_items && !r.ignore_empty) v.absent = { rule: 'repeated.min_items', message: `must have at least ${r.min_items} items, got none` };
    }
    v.descend = isMessage && !r?.items?.message?.skip && isActive(field.message);
  } else {
    v.element = elementCheck(field, rules);
    v.descend = isMessage && !rules?.message?.skip && isActive(field.message);
    const required = rules?.message?.required || rules?.duration?.required || rules?.timestamp?.required || rules?.any?.required;
    if (field.oneof) {
      // A oneof member's rules apply only when it is the member set.
    } else if (isMessage) {
      if (required) v.absent = { rule: rules?.message?.required ? 'message.required' : rules?.duration?.required ? 'duration.required' : rules?.timestamp?.required ? 'timestamp.required' : 'any.required', message: 'is required' };
    } else if (!field.presence && v.element) {
      // An absent implicit-presence field holds its default value, and PGV checks that value.
      const problems: Array<{ rule: string; message: string }> = [];
      v.element(defaultValue(field), { fail: (rule, message) => problems.push({ rule, message }) });
      if (problems.length) v.absent = { rule: problems[0]!.rule, message: `${problems[0]!.message.replace(/, got .*$/, '')}, but it is not set` };
    }
  }
  return v;
}

function compile(type: MessageType): MessageValidator {
  let mv = compiled.get(type);
  if (mv) return mv;
  mv = { byKey: new Map(), absentChecks: [], requiredOneofs: [], active: true };
  compiled.set(type, mv); // before compiling fields: types may be recursive
  if (type.schema.validateDisabled) {
    mv.active = false;
    return mv;
  }
  for (const field of type.fields) {
    const fv = compileField(field);
    mv.byKey.set(field.jsonName, fv);
    mv.byKey.set(field.name, fv);
    if (fv.absent) mv.absentChecks.push(fv);
  }
  for (const o of type.schema.oneofs ?? []) {
    if (!o.required) continue;
    const members = type.oneofs.get(o.name) ?? [];
    mv.requiredOneofs.push({
      name: o.name,
      keys: members.flatMap((m) => (m.name === m.jsonName ? [m.name] : [m.jsonName, m.name])),
      members: members.map((m) => m.jsonName).join(', '),
    });
  }
  return mv;
}

/** Walks JSON values, keeping the path for problems. */
class Walker implements Reporter {
  readonly problems: ValidationProblem[] = [];
  private readonly path: PathSegment[] = [];

  fail(rule: string, message: string): void {
    this.problems.push({ field: renderPath(this.path), message, rule });
  }

  message(type: MessageType, json: unknown, skipKey?: string): void {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return;
    if (type.wellKnown) {
      if (type.wellKnown === 'Any') this.any(json as JsonObject);
      return;
    }
    const mv = compile(type);
    if (!mv.active) return;
    const obj = json as JsonObject;
    for (const key in obj) {
      if (key === skipKey) continue;
      const value = obj[key];
      if (value === null || value === undefined) continue;
      const fv = mv.byKey.get(key);
      if (!fv) continue;
      this.path.push(key);
      this.field(fv, value);
      this.path.pop();
    }
    for (const fv of mv.absentChecks) {
      const f = fv.field;
      if (obj[f.jsonName] != null || obj[f.name] != null) continue;
      this.path.push(f.jsonName);
      this.fail(fv.absent!.rule, fv.absent!.message);
      this.path.pop();
    }
    for (const oneof of mv.requiredOneofs) {
      if (!oneof.keys.some((k) => obj[k] != null)) this.fail('oneof.required', `one of ${oneof.members} must be set (oneof ${oneof.name})`);
    }
  }

  private field(fv: FieldValidator, value: unknown): void {
    const f = fv.field;
    if (f.isMap) {
      if (typeof value !== 'object' || Array.isArray(value)) return;
      fv.collection?.(value, this);
      if (!fv.element && !fv.key && !fv.descend) return;
      const map = value as JsonObject;
      for (const k in map) {
        this.path.push(new MapKey(k));
        fv.key?.(k, this);
        const v = map[k];
        if (v != null) {
          fv.element?.(v, this);
          if (fv.descend) this.message(f.message, v);
        }
        this.path.pop();
      }
    } else if (f.repeated) {
      if (!Array.isArray(value)) return;
      fv.collection?.(value, this);
      if (!fv.element && !fv.descend) return;
      for (let i = 0; i < value.length; i++) {
        this.path.push(i);
        fv.element?.(value[i], this);
        if (fv.descend) this.message(f.message, value[i]);
        this.path.pop();
      }
    } else {
      fv.element?.(value, this);
      if (fv.descend) this.message(f.message, value);
    }
  }

  private any(json: JsonObject): void {
    const url = json['@type'];
    if (typeof url !== 'string') return;
    const inner = registry().findMessage(messageName(url));
    if (!inner || inner.wellKnown) return;
    this.message(inner, json, '@type');
  }
}

/** The rule violations of a message given in the proto3 JSON mapping; empty when it is valid. */
export function validateMessage(type: MessageType, json: unknown): ValidationProblem[] {
  const walker = new Walker();
  walker.message(type, json);
  return walker.problems;
}

/** `listeners.first-listener: address.socketAddress.address: must be ... (string.min_len)` */
export function formatValidationProblem(p: ValidationProblem): string {
  return `${p.field ? `${p.field}: ` : ''}${p.message} (${p.rule})`;
}
