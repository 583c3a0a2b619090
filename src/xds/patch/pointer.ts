// JSON Pointers (RFC 6901) and JSON Patch (RFC 6902) on plain JSON values, applied in place on
// a copy. As Envoy Gateway applies patches, `add` creates missing intermediate objects.

export type JSON = null | boolean | number | string | JSON[] | { [k: string]: JSON };

export class PatchError extends Error {}

/** "/a/b~1c/0" → ["a", "b/c", "0"]. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}: must start with "/"`);
  return pointer.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function isObject(v: unknown): v is Record<string, JSON> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index ${JSON.stringify(token)}`);
  const i = Number(token);
  if (i > length || (!forAdd && i === length)) throw new PatchError(`array index ${i} out of bounds (length ${length})`);
  return i;
}

/** The value at a pointer; throws when it does not exist. */
export function get(doc: JSON, pointer: string): JSON {
  let cur: JSON = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)]!;
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t]!;
    else throw new PatchError(`path ${JSON.stringify(pointer)} does not exist`);
  }
  return cur;
}

/** The container of a pointer's last token (creating missing objects when asked). */
function parentOf(doc: JSON, tokens: string[], create: boolean): JSON {
  let cur: JSON = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i]!;
    if (Array.isArray(cur)) {
      cur = cur[arrayIndex(t, cur.length, false)]!;
    } else if (isObject(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, t)) {
        if (!create) throw new PatchError(`path element ${JSON.stringify(t)} does not exist`);
        // The next token decides whether the missing container is a list or an object.
        cur[t] = /^(0|-)$/.test(tokens[i + 1]!) ? [] : {};
      }
      cur = cur[t]!;
    } else {
      throw new PatchError(`path element ${JSON.stringify(t)} is not a container`);
    }
  }
  return cur;
}

function add(doc: JSON, pointer: string, value: JSON): JSON {
  const tokens = parsePointer(pointer);
  if (!tokens.length) return value;
  const parent = parentOf(doc, tokens, true);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new PatchError(`cannot add to a ${typeof parent} at ${JSON.stringify(pointer)}`);
  return doc;
}

function remove(doc: JSON, pointer: string): { doc: JSON; removed: JSON } {
  const tokens = parsePointer(pointer);
  if (!tokens.length) throw new PatchError('cannot remove the whole document');
  const parent = parentOf(doc, tokens, false);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const [removed] = parent.splice(arrayIndex(last, parent.length, false), 1);
    return { doc, removed: removed! };
  }
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const removed = parent[last]!;
    delete parent[last];
    return { doc, removed };
  }
  throw new PatchError(`path ${JSON.stringify(pointer)} does not exist`);
}

function replace(doc: JSON, pointer: string, value: JSON): JSON {
  const tokens = parsePointer(pointer);
  if (!tokens.length) return value;
  get(doc, pointer);
  const parent = parentOf(doc, tokens, false);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, false)] = value;
  else (parent as Record<string, JSON>)[last] = value;
  return doc;
}

function deepEqual(a: JSON, b: JSON): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]!));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k]!, b[k]!));
  }
  return false;
}

export interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: JSON;
}

/** Applies one operation; returns the new document (the input may be modified). */
export function applyOperation(doc: JSON, o: Operation): JSON {
  const clone = (v: JSON) => structuredClone(v);
  switch (o.op) {
    case 'add':
      return add(doc, o.path, clone(o.value!));
    case 'remove':
      return remove(doc, o.path).doc;
    case 'replace':
      return replace(doc, o.path, clone(o.value!));
    case 'move': {
      if (o.from === undefined) throw new PatchError('move needs "from"');
      if (o.path.startsWith(`${o.from}/`)) throw new PatchError('cannot move a value into itself');
      const { doc: d, removed } = remove(doc, o.from);
      return add(d, o.path, removed);
    }
    case 'copy':
      if (o.from === undefined) throw new PatchError('copy needs "from"');
      return add(doc, o.path, clone(get(doc, o.from)));
    case 'test':
      if (!deepEqual(get(doc, o.path), o.value!)) throw new PatchError(`test failed at ${JSON.stringify(o.path)}`);
      return doc;
    default:
      throw new PatchError(`unknown operation ${JSON.stringify(o.op)}`);
  }
}
