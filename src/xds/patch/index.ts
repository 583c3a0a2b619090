// EnvoyPatchPolicy: RFC 6902 JSON patches on the generated resources, addressed by type URL and
// name (or added whole), optionally targeted with a JSONPath whose matches each get the patch's
// path appended. A policy whose patches all apply is Programmed; otherwise it says why not
// (Invalid, or ResourceNotFound) and the resources keep what the patches before did to them, as
// with Envoy Gateway.
import { JSONPath } from 'jsonpath-plus';
import type { EnvoyPatchPolicy, JSONPatchConfig, PolicyAncestorStatus } from '../../ir/xds.js';
import { canonicalJson, hasType } from '../proto/index.js';
import { resourceName, typeUrls, type ResourceKind, type ResourceTable } from '../translator/resources.js';
import type { Msg } from '../translator/util.js';
import { toProtoNames } from './names.js';
import { applyOperation, PatchError, type JSON } from './pointer.js';

/** The secret name of the system trust store, which patches may neither create nor change. */
export const systemCASecretName = 'system_ca_certificates';

const kindByTypeUrl = new Map<string, ResourceKind>(Object.entries(typeUrls).map(([k, v]) => [v, k as ResourceKind]));

class PolicyError extends Error {
  constructor(readonly reason: 'Invalid' | 'ResourceNotFound', message: string) {
    super(message);
  }
}

const valueOps = new Set(['add', 'replace', 'test']);
const fromOps = new Set(['move', 'copy']);

function checkOperation(p: JSONPatchConfig): void {
  const o = p.operation;
  if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(o.op)) {
    throw new PolicyError('Invalid', `Unsupported JSON patch operation ${JSON.stringify(o.op)}.`);
  }
  if (o.path === undefined && o.jsonPath === undefined) throw new PolicyError('Invalid', 'The patch needs a path or a jsonPath.');
  if (valueOps.has(o.op) && o.value === undefined) throw new PolicyError('Invalid', `The ${o.op} operation requires a value.`);
  if (o.op === 'remove' && (o.value !== undefined || o.from !== undefined)) {
    throw new PolicyError('Invalid', 'Value and from can\'t be specified with the remove operation.');
  }
  if (fromOps.has(o.op)) {
    if (o.from === undefined) throw new PolicyError('Invalid', `The ${o.op} operation requires a from.`);
    if (o.value !== undefined) throw new PolicyError('Invalid', `Value can't be specified with the ${o.op} operation.`);
  }
}

/**
 * Envoy Gateway's JSONPath has a regex operator, `@.name =~ "re"` (an unanchored match); the
 * evaluator we use writes that as a regex test.
 */
function regexMatches(expr: string): string {
  return expr.replace(/(@[\w.$\[\]'"-]*)\s*=~\s*(?:"((?:\\.|[^"])*)"|'((?:\\.|[^'])*)'|\/((?:\\.|[^/])*)\/)/g,
    (_m, lhs: string, dq?: string, sq?: string, re?: string) => {
      const source = (dq ?? sq ?? re ?? '').replace(/(^|[^\\])\//g, '$1\\/');
      return `/${source}/.test(${lhs})`;
    });
}

/** The pointers a patch applies at: its path, or each JSONPath match with the path appended. */
function targets(doc: JSON, path: string | undefined, jsonPath: string | undefined): string[] {
  const suffix = path === undefined || path === '' ? '' : path.startsWith('/') ? path : `/${path}`;
  if (jsonPath === undefined) return [path ?? ''];
  let expr = regexMatches(jsonPath.trim());
  if (!expr.startsWith('$')) expr = expr.startsWith('.') || expr.startsWith('[') ? `$${expr}` : `$.${expr}`;
  let found: string[];
  try {
    found = JSONPath({ path: expr, json: doc as object, resultType: 'pointer', wrap: true }) as string[];
  } catch (err) {
    throw new PolicyError('Invalid', `Unable to evaluate the jsonPath ${JSON.stringify(jsonPath)}: ${(err as Error).message}`);
  }
  if (!found.length) {
    throw new PolicyError('Invalid', `No jsonPointers were found while evaluating the jsonPath: '${jsonPath}'. Ensure the elements you are trying to select with the jsonPath exist in the document. If you need to add a non-existing property, use the 'path' attribute.`);
  }
  return found.map((p) => p + suffix);
}

/** Reads a resource back from its proto-names JSON, as Envoy Gateway unmarshals it. */
function readBack(typeUrl: string, doc: JSON): Msg {
  try {
    return canonicalJson(typeUrl, doc) as Msg;
  } catch (err) {
    throw new PolicyError('Invalid', `Unable to unmarshal xds resource ${JSON.stringify(doc)}, err:${(err as Error).message}`);
  }
}

function applyPatch(table: ResourceTable, p: JSONPatchConfig): void {
  checkOperation(p);
  const kind = kindByTypeUrl.get(p.type);
  if (!kind || !hasType(p.type)) throw new PolicyError('Invalid', `Unsupported xds resource type ${p.type}.`);
  const o = p.operation;

  // A whole new resource.
  if (o.op === 'add' && (o.path === '' || o.path === undefined) && o.jsonPath === undefined) {
    const r = readBack(p.type, o.value as JSON);
    if (kind === 'secrets' && resourceName(kind, r) === systemCASecretName) {
      throw new PolicyError('Invalid', `Secret name "${systemCASecretName}" is reserved for the system trust store and cannot be used by other resources.`);
    }
    table.out[kind].push(r);
    table.replaceAll(kind, table.out[kind]);
    return;
  }

  const list = table.out[kind];
  const index = list.findIndex((r) => resourceName(kind, r) === p.name);
  if (index < 0) throw new PolicyError('ResourceNotFound', `Unable to find xds resources: ${p.type}/${p.name}`);
  if (kind === 'secrets' && p.name === systemCASecretName) {
    throw new PolicyError('Invalid', `Secret name "${systemCASecretName}" is reserved for the system trust store and cannot be modified by patches.`);
  }
  let doc = toProtoNames(p.type, list[index] as JSON);
  try {
    for (const path of targets(doc, o.path, o.jsonPath)) {
      doc = applyOperation(doc, { op: o.op, path, from: o.from, value: o.value as JSON });
    }
  } catch (err) {
    if (err instanceof PatchError) throw new PolicyError('Invalid', `Unable to apply the patch: ${err.message}`);
    throw err;
  }
  const r = readBack(p.type, doc);
  if (kind === 'secrets' && resourceName(kind, r) === systemCASecretName) {
    throw new PolicyError('Invalid', `Secret name "${systemCASecretName}" is reserved for the system trust store and cannot be used by other resources.`);
  }
  list[index] = r;
  table.replaceAll(kind, list);
}

function setCondition(ancestors: PolicyAncestorStatus[] | undefined, generation: number | undefined, status: 'True' | 'False', reason: string, message: string): void {
  for (const a of ancestors ?? []) {
    const conditions = (a.conditions ??= []).filter((c) => c.type !== 'Programmed');
    conditions.push({ type: 'Programmed', status, reason, message, observedGeneration: generation, lastTransitionTime: null });
    a.conditions = conditions;
    a.controllerName ??= '';
  }
}

/**
 * Applies the policies in order, each patch in order, to the resources of the table. Returns
 * the policies with their status: Programmed when every patch applied, else the first failure.
 */
export function applyEnvoyPatchPolicies(table: ResourceTable, policies: EnvoyPatchPolicy[]): EnvoyPatchPolicy[] {
  const out: EnvoyPatchPolicy[] = [];
  for (const policy of policies) {
    const p: EnvoyPatchPolicy = structuredClone(policy);
    p.status ??= { ancestors: [] };
    let failure: PolicyError | undefined;
    for (const patch of p.jsonPatches ?? []) {
      try {
        applyPatch(table, patch);
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        failure ??= err;
      }
    }
    if (failure) setCondition(p.status.ancestors, p.generation, 'False', failure.reason, failure.message);
    else setCondition(p.status.ancestors, p.generation, 'True', 'Programmed', 'Patches have been successfully applied.');
    delete p.jsonPatches;
    out.push(p);
  }
  return out;
}
