// A minimal MaxMind DB (.mmdb, format 2.0) writer for tests: an IPv4 search tree with 24-bit
// records over the given networks, each pointing at its record in the data section (maps,
// strings, unsigned integers, booleans), then the metadata. Enough for the `maxmind` reader to
// answer lookups the way it does with MaxMind's own databases.

type Value = string | number | boolean | Value[] | { [k: string]: Value };

function ctrl(type: number, size: number): Buffer {
  const ext = type > 7;
  const head = (ext ? 0 : type) << 5;
  let sizeBytes: number[] = [];
  let s5: number;
  if (size < 29) s5 = size;
  else if (size < 285) { s5 = 29; sizeBytes = [size - 29]; }
  else if (size < 65821) { s5 = 30; const v = size - 285; sizeBytes = [v >> 8, v & 0xff]; }
  else { s5 = 31; const v = size - 65821; sizeBytes = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]; }
  return Buffer.from([head | s5, ...(ext ? [type - 7] : []), ...sizeBytes]);
}

function uintBytes(n: number | bigint): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  while (v > 0n) { out.unshift(Number(v & 0xffn)); v >>= 8n; }
  return Buffer.from(out);
}

function encode(v: Value, uintType = 6): Buffer {
  if (typeof v === 'string') { const b = Buffer.from(v, 'utf8'); return Buffer.concat([ctrl(2, b.length), b]); }
  if (typeof v === 'boolean') return ctrl(14, v ? 1 : 0);
  if (typeof v === 'number') { const b = uintBytes(v); return Buffer.concat([ctrl(uintType, b.length), b]); }
  if (Array.isArray(v)) return Buffer.concat([ctrl(11, v.length), ...v.map((x) => encode(x))]);
  const entries = Object.entries(v);
  return Buffer.concat([ctrl(7, entries.length), ...entries.flatMap(([k, x]) => [encode(k), encode(x)])]);
}

interface TrieNode { child: [TrieNode | number | undefined, TrieNode | number | undefined] }

/** Builds a database: `networks` maps "a.b.c.d/len" to the record found for addresses in it. */
export function buildMmdb(databaseType: string, networks: Record<string, { [k: string]: Value }>): Buffer {
  // Data section: one encoded record per network, in order.
  const dataParts: Buffer[] = [];
  const offsets: number[] = [];
  let dataSize = 0;
  const root: TrieNode = { child: [undefined, undefined] };
  Object.entries(networks).forEach(([cidr, record], i) => {
    const enc = encode(record);
    offsets.push(dataSize);
    dataParts.push(enc);
    dataSize += enc.length;
    const [ip, lenText] = cidr.split('/');
    const len = Number(lenText ?? 32);
    const addr = ip!.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
    let node = root;
    for (let bit = 0; bit < len; bit++) {
      const b = (addr >>> (31 - bit)) & 1;
      if (bit === len - 1) { node.child[b] = -(i + 1); break; }
      let next = node.child[b];
      if (typeof next !== 'object') { next = { child: [undefined, undefined] }; node.child[b] = next; }
      node = next;
    }
  });
  // Number the nodes breadth first.
  const nodes: TrieNode[] = [];
  const queue: TrieNode[] = [root];
  while (queue.length) {
    const n = queue.shift()!;
    nodes.push(n);
    for (const c of n.child) if (typeof c === 'object') queue.push(c);
  }
  const count = nodes.length;
  const recordOf = (c: TrieNode | number | undefined): number => {
    if (c === undefined) return count;
    if (typeof c === 'object') return nodes.indexOf(c);
    return count + 16 + offsets[-c - 1]!;
  };
  const tree = Buffer.alloc(count * 6);
  nodes.forEach((n, i) => {
    tree.writeUIntBE(recordOf(n.child[0]), i * 6, 3);
    tree.writeUIntBE(recordOf(n.child[1]), i * 6 + 3, 3);
  });
  const metadata = Buffer.concat([
    ctrl(7, 9),
    encode('node_count'), encode(count, 6),
    encode('record_size'), encode(24, 5),
    encode('ip_version'), encode(4, 5),
    encode('database_type'), encode(databaseType),
    encode('languages'), encode(['en']),
    encode('binary_format_major_version'), encode(2, 5),
    encode('binary_format_minor_version'), encode(0, 5),
    encode('build_epoch'), encode(Math.floor(Date.now() / 1000), 9),
    encode('description'), encode({ en: 'egts test database' }),
  ]);
  return Buffer.concat([tree, Buffer.alloc(16), ...dataParts, Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), metadata]);
}
