// Loading Envoy's API: the .proto files that ship in @grpc/grpc-js-xds (envoy-api, xds, googleapis,
// protoc-gen-validate), plus our supplement of definitions newer than that snapshot, parsed once
// with protobufjs and reduced to a Schema (schema.ts). Parsing takes about half a second, so the
// build writes the Schema to dist/ (see build-schema.ts) and a process reads that instead when its
// fingerprint matches the protos on disk.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Protobuf from 'protobufjs';
import type { EnumSchema, FieldRules, FieldSchema, MessageSchema, OneofSchema, ScalarType, Schema } from './schema.js';

const require = createRequire(import.meta.url);
let protobuf: typeof Protobuf;

/** Bump when the Schema's shape or the extraction changes, to invalidate cached copies. */
const SCHEMA_FORMAT = 4;

const here = dirname(fileURLToPath(import.meta.url));
/** The repository (or installed package) root: this file is src/xds/proto/ or dist/src/xds/proto/. */
const packageRoot = here.includes(`${join('dist', 'src')}`) ? join(here, '..', '..', '..', '..') : join(here, '..', '..', '..');

/** Where the generated Schema is cached by the build. */
export const schemaCachePath = join(packageRoot, 'dist', 'xds-proto-schema.json');
/**
 * Our supplement to the shipped protos, for the parts of Envoy's API newer than that snapshot:
 * `imports/` holds whole files the snapshot lacks, under their upstream import paths;
 * `overlay/` holds partial declarations (new fields, nested types, enum values) merged into the
 * messages and enums of the same full names.
 */
export const supplementDir = join(packageRoot, 'src', 'xds', 'proto', 'supplement');
const importsDir = join(supplementDir, 'imports');
const overlayDir = join(supplementDir, 'overlay');

function depsDir(): string {
  return join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
}

function includeDirs(): string[] {
  const deps = depsDir();
  return [importsDir, ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d))];
}

function listProtos(dir: string, under = ''): string[] {
  const out: string[] = [];
  const base = join(dir, under);
  if (!existsSync(base)) return out;
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    const rel = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listProtos(dir, rel));
    else if (entry.name.endsWith('.proto')) out.push(rel);
  }
  return out.sort();
}

/** A fingerprint of everything the Schema is built from. */
export function schemaSource(): string {
  const xdsPkg = JSON.parse(readFileSync(require.resolve('@grpc/grpc-js-xds/package.json'), 'utf8')) as { version: string };
  const pbPkg = JSON.parse(readFileSync(require.resolve('protobufjs/package.json'), 'utf8')) as { version: string };
  const hash = createHash('sha256');
  for (const f of listProtos(supplementDir)) hash.update(f).update(readFileSync(join(supplementDir, f)));
  return `format ${SCHEMA_FORMAT}; @grpc/grpc-js-xds ${xdsPkg.version}; protobufjs ${pbPkg.version}; supplement ${hash.digest('hex').slice(0, 16)}`;
}

/**
 * Parses the protos and extracts the Schema. Every Envoy v3 file whose imports are all present is
 * loaded (a few need opencensus or prometheus protos that do not ship, and nothing we serve uses
 * them), then the supplement files are laid over: their messages are added, and the fields and
 * enum values they declare are added to messages that already exist.
 */
export function buildSchema(): Schema {
  // The full protobufjs (with its .proto parser) is only needed here, not when the cache is current.
  protobuf = require('protobufjs') as typeof Protobuf;
  const dirs = includeDirs();
  const find = (target: string): string | undefined => {
    for (const d of dirs) {
      const p = join(d, target);
      if (existsSync(p)) return p;
    }
    return undefined;
  };
  const resolvePath = (_origin: string, target: string): string => {
    if (isAbsolute(target)) return target;
    if (target === 'google/protobuf/descriptor.proto') return require.resolve('protobufjs/google/protobuf/descriptor.proto');
    if (target.startsWith('google/protobuf/')) return target; // bundled with protobufjs
    return find(target) ?? target;
  };

  // Which files have all their imports, transitively.
  const loadable = new Map<string, boolean>();
  const canLoad = (target: string, seen: Set<string>): boolean => {
    if (target.startsWith('google/protobuf/')) return true;
    const known = loadable.get(target);
    if (known !== undefined) return known;
    if (seen.has(target)) return true;
    seen.add(target);
    const path = find(target);
    let ok = path !== undefined;
    if (path) {
      const text = readFileSync(path, 'utf8');
      for (const m of text.matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)"/gm)) if (!canLoad(m[1]!, seen)) ok = false;
    }
    loadable.set(target, ok);
    return ok;
  };

  const deps = depsDir();
  for (const f of listProtos(importsDir)) {
    if (['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].some((d) => existsSync(join(deps, d, f)))) {
      throw new Error(`supplement/imports/${f} shadows a shipped proto file; move its additions to supplement/overlay/`);
    }
  }
  const envoyFiles = listProtos(join(deps, 'envoy-api')).filter((f) => f.startsWith('envoy/') && !/\/v2(alpha\d*)?\//.test(f));
  const xdsFiles = listProtos(join(deps, 'xds')).filter((f) => f.startsWith('xds/'));
  // The well-known types, whether or not some Envoy file imports them (they may come in an Any).
  const wellKnown = ['any', 'duration', 'timestamp', 'empty', 'struct', 'wrappers', 'field_mask'].map((n) => `google/protobuf/${n}.proto`);
  const files = [...wellKnown, ...envoyFiles, ...xdsFiles, ...listProtos(importsDir)].filter((f) => canLoad(f, new Set()));

  const root = new protobuf.Root();
  root.resolvePath = resolvePath;
  root.loadSync(files.map((f) => resolvePath('', f)), { keepCase: true });
  // cel-spec's cel.expr package is googleapis' google.api.expr.v1alpha1 moved under a new name,
  // message for message and number for number; newer xds protos refer to it by the new name.
  for (const [file, pkg] of PACKAGE_ALIASES) {
    const path = find(file);
    if (!path) continue;
    const text = readFileSync(path, 'utf8').replace(/^package\s+[\w.]+;/m, `package ${pkg};`);
    overlay(root, protobuf.parse(text, new protobuf.Root(), { keepCase: true }).root);
  }
  for (const f of listProtos(overlayDir)) {
    const parsed = protobuf.parse(readFileSync(join(overlayDir, f), 'utf8'), new protobuf.Root(), { keepCase: true });
    try {
      overlay(root, parsed.root);
    } catch (err) {
      throw new Error(`supplement/overlay/${f}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  root.resolveAll();
  const schema: Schema = { source: schemaSource(), messages: {}, enums: {} };
  extract(root, schema);
  return schema;
}

const PACKAGE_ALIASES: Array<[string, string]> = [['google/api/expr/v1alpha1/syntax.proto', 'cel.expr']];

/**
 * Moves what `from` declares into `into`: new namespaces, messages and enums whole; for messages
 * that exist, their new fields (joining an existing oneof of the same name) and nested types; for
 * enums that exist, their new values. Type references resolve later, against the merged root.
 */
function overlay(into: Protobuf.NamespaceBase, from: Protobuf.NamespaceBase): void {
  for (const item of [...from.nestedArray]) {
    const have = into.get(item.name);
    if (!have) {
      from.remove(item);
      into.add(item);
    } else if (item instanceof protobuf.Type && have instanceof protobuf.Type) {
      // Renames first, so that the old name is free when the overlay gives it its new number.
      for (const field of item.fieldsArray.filter((f) => isRename(have, item, f))) {
        const old = have.fieldsById[field.id]!;
        old.partOf?.remove(old);
        have.remove(old);
      }
      for (const field of [...item.fieldsArray]) {
        const same = have.fieldsById[field.id];
        if (same) {
          // Redeclared: upstream changed the field's rules (or its type, e.g. bool to BoolValue).
          if (same.name !== field.name) throw new Error(`${have.fullName}: field ${field.id} is ${same.name}, not ${field.name} (a rename must redeclare ${same.name} with its new number)`);
          keepSensitive(same, field);
          if (same.type === field.type && same.repeated === field.repeated) {
            (same as unknown as { parsedOptions?: ParsedOptions }).parsedOptions = (field as unknown as { parsedOptions?: ParsedOptions }).parsedOptions;
            continue;
          }
          const sameOneof = same.partOf;
          sameOneof?.remove(same);
          have.remove(same);
          item.remove(field);
          have.add(field);
          sameOneof?.add(field);
          continue;
        }
        if (have.fields[field.name]) throw new Error(`${have.fullName}: ${field.name} already has number ${have.fields[field.name]!.id}`);
        const oneof = field.partOf;
        if (oneof) oneof.remove(field);
        item.remove(field);
        have.add(field);
        if (oneof) (have.oneofs?.[oneof.name] ?? addOneof(have, oneof)).add(field);
      }
      // A oneof redeclared with `option (validate.required) = ...` takes that setting.
      for (const oneof of item.oneofsArray) {
        const target = have.oneofs?.[oneof.name];
        const parsed = (oneof as unknown as { parsedOptions?: ParsedOptions }).parsedOptions;
        if (target && option(parsed, '(validate.required)') !== undefined) {
          (target as unknown as { parsedOptions?: ParsedOptions }).parsedOptions = parsed;
        }
      }
      overlay(have, item);
    } else if (item instanceof protobuf.Enum && have instanceof protobuf.Enum) {
      for (const [name, n] of Object.entries(item.values)) if (!(name in have.values)) have.add(name, n);
    } else if (item instanceof protobuf.Namespace && have instanceof protobuf.Namespace) {
      overlay(have, item);
    } else {
      throw new Error(`${item.fullName} is declared with a different kind than in Envoy's protos`);
    }
  }
}

/**
 * Upstream renamed a field (same number, new name) and gave the old name a new number: the
 * overlay says so by declaring both, e.g. MaxMindConfig's 2 became asn_db_path and isp_db_path
 * moved to 5. A different name at a shipped number without the old name re-homed stays an error
 * (most likely a typo in the overlay).
 */
function isRename(have: Protobuf.Type, overlayType: Protobuf.Type, field: Protobuf.Field): boolean {
  const shipped = have.fieldsById[field.id];
  if (!shipped || shipped.name === field.name) return false;
  const rehomed = overlayType.fields[shipped.name];
  return rehomed !== undefined && rehomed.id !== field.id && shipped.type === field.type && shipped.repeated === field.repeated;
}

/**
 * A redeclaration restates rules or a type, not what the data is: a field that upstream marks
 * sensitive stays so (config dumps redact it) even if the redeclaration leaves the mark out.
 */
function keepSensitive(shipped: Protobuf.Field, redeclared: Protobuf.Field): void {
  const options = (f: Protobuf.Field) => f as unknown as { parsedOptions?: ParsedOptions };
  if (isSensitive(options(shipped).parsedOptions) && !isSensitive(options(redeclared).parsedOptions)) {
    options(redeclared).parsedOptions = [...(options(redeclared).parsedOptions ?? []), { '(udpa.annotations.sensitive)': true }];
  }
}

function addOneof(type: Protobuf.Type, like: Protobuf.OneOf): Protobuf.OneOf {
  const oneof = new protobuf.OneOf(like.name, [], like.options);
  (oneof as unknown as { parsedOptions?: ParsedOptions }).parsedOptions = (like as unknown as { parsedOptions?: ParsedOptions }).parsedOptions;
  type.add(oneof);
  return oneof;
}

const SCALARS = new Set<string>([
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
]);

type ParsedOptions = Array<Record<string, unknown>> | undefined;

function option(parsed: ParsedOptions, name: string): unknown {
  if (!parsed) return undefined;
  for (const o of parsed) if (name in o) return o[name];
  return undefined;
}

function bare(fullName: string): string {
  return fullName.startsWith('.') ? fullName.slice(1) : fullName;
}

function extract(ns: Protobuf.NamespaceBase, schema: Schema): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) schema.messages[bare(nested.fullName)] = extractMessage(nested);
    else if (nested instanceof protobuf.Enum) schema.enums[bare(nested.fullName)] = { values: { ...nested.values } } satisfies EnumSchema;
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) extract(nested, schema);
  }
}

function extractMessage(type: Protobuf.Type): MessageSchema {
  const msg: MessageSchema = { fields: [] };
  const parsed = (type as unknown as { parsedOptions?: ParsedOptions }).parsedOptions;
  if (option(parsed, '(validate.disabled)') === true || option(parsed, '(validate.ignored)') === true) msg.validateDisabled = true;
  const synthetic = new Set<string>();
  for (const f of type.fieldsArray) {
    if (f.options?.['proto3_optional'] && f.partOf) synthetic.add(f.partOf.name);
  }
  for (const o of type.oneofsArray) {
    if (synthetic.has(o.name)) continue;
    const one: OneofSchema = { name: o.name };
    if (option((o as unknown as { parsedOptions?: ParsedOptions }).parsedOptions, '(validate.required)') === true) one.required = true;
    (msg.oneofs ??= []).push(one);
  }
  for (const f of type.fieldsArray) msg.fields.push(extractField(f, synthetic));
  return msg;
}

function extractField(f: Protobuf.Field, syntheticOneofs: Set<string>): FieldSchema {
  f.resolve();
  const resolved = f.resolvedType;
  const kind: FieldSchema['kind'] = resolved instanceof protobuf.Type ? 'message' : resolved instanceof protobuf.Enum ? 'enum' : 'scalar';
  if (kind === 'scalar' && !SCALARS.has(f.type)) throw new Error(`${f.fullName}: unresolved type ${f.type}`);
  const field: FieldSchema = {
    name: f.name,
    jsonName: f.jsonName ?? f.name,
    number: f.id,
    type: resolved ? bare(resolved.fullName) : f.type,
    kind,
  };
  if (f instanceof protobuf.MapField) field.keyType = f.keyType as ScalarType;
  else if (f.repeated) {
    field.repeated = true;
    if (kind !== 'message' && f.type !== 'string' && f.type !== 'bytes' && f.packed) field.packed = true;
  }
  if (f.partOf && !syntheticOneofs.has(f.partOf.name)) field.oneof = f.partOf.name;
  if (!field.repeated && !field.keyType && (kind === 'message' || f.partOf || f.options?.['proto3_optional'])) field.presence = true;
  const parsed = (f as unknown as { parsedOptions?: ParsedOptions }).parsedOptions;
  const rules = option(parsed, '(validate.rules)');
  if (rules && typeof rules === 'object') field.rules = normalizeRules(rules) as FieldRules;
  if (f.options?.['deprecated'] === true) field.deprecated = true;
  if (isSensitive(parsed)) field.sensitive = true;
  return field;
}

/**
 * Envoy redacts fields marked `(udpa.annotations.sensitive)`; its successor in the xds tree,
 * `(xds.annotations.v3.sensitive)`, means the same, so either marks a field.
 */
function isSensitive(parsed: ParsedOptions): boolean {
  return option(parsed, '(udpa.annotations.sensitive)') === true || option(parsed, '(xds.annotations.v3.sensitive)') === true;
}

/** Option text writes a one-element list as a plain value (`not_in: 0`); lists are always arrays here. */
function normalizeRules(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeRules);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = (k === 'in' || k === 'not_in') && !Array.isArray(v) ? [normalizeRules(v)] : normalizeRules(v);
  }
  return out;
}

let cached: Schema | undefined;

/** The Schema, loaded once per process: from the build's cache when current, else from the protos. */
export function loadSchema(): Schema {
  if (cached) return cached;
  const source = schemaSource();
  if (existsSync(schemaCachePath)) {
    try {
      const fromCache = JSON.parse(readFileSync(schemaCachePath, 'utf8')) as Schema;
      if (fromCache.source === source) return (cached = fromCache);
    } catch {
      // an unreadable cache is rebuilt below
    }
  }
  return (cached = buildSchema());
}
