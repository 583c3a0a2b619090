// `egts status`: what a running `egts serve` reports, from its admin server: every resource
// with its conditions as a table (what is accepted, programmed, and why not), the problems in
// the watched files, and the proxies; `-o yaml` / `-o json` print the whole status document.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { defaultAdmin } from '../serve/config.js';

const usage = `usage: egts status [<kind> [[<namespace>/]<name>]] [-o table|yaml|json] [--admin <host:port>]

  <kind>               only this kind (gateway, httproutes, ...), or one resource of it
  -o, --output <f>     table (default), yaml or json
      --admin <addr>   the admin server of egts serve (default ${defaultAdmin.host}:${defaultAdmin.port}, or EGTS_ADMIN)`;

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}

interface Resource {
  kind?: string;
  metadata: { name: string; namespace?: string; generation?: number };
  status?: Record<string, any>;
}

/** Every condition of a resource, wherever its kind keeps them (own, listeners, parents, ancestors). */
function conditionsOf(r: Resource): { where: string; c: Cond }[] {
  const out: { where: string; c: Cond }[] = [];
  const s = r.status ?? {};
  for (const c of s.conditions ?? []) out.push({ where: '', c });
  for (const l of s.listeners ?? []) for (const c of l.conditions ?? []) out.push({ where: `listener ${l.name}`, c });
  for (const p of s.parents ?? []) {
    const ref = p.parentRef ?? {};
    const name = `${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}${ref.sectionName ? `/${ref.sectionName}` : ''}`;
    for (const c of p.conditions ?? []) out.push({ where: `parent ${name}`, c });
  }
  for (const a of s.ancestors ?? []) {
    const ref = a.ancestorRef ?? {};
    const name = `${ref.kind ?? ''} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}${ref.sectionName ? `/${ref.sectionName}` : ''}`;
    for (const c of a.conditions ?? []) out.push({ where: `ancestor ${name}`, c });
  }
  return out;
}

/** One column's value: True when every condition of that type is, else the first that is not. */
function column(conds: { where: string; c: Cond }[], type: string): string {
  const of = conds.filter((x) => x.c.type === type && x.where.startsWith('listener') === false);
  if (!of.length) return '-';
  const bad = of.find((x) => x.c.status !== 'True');
  return bad ? `${bad.c.status}/${bad.c.reason}` : 'True';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export function renderTable(doc: { resources: Resource[]; problems?: { text: string }[]; gateways?: any[] }): string {
  const rows: string[][] = [['KIND', 'NAMESPACE/NAME', 'ACCEPTED', 'PROGRAMMED', 'RESOLVED', 'MESSAGE']];
  for (const r of doc.resources) {
    const conds = conditionsOf(r);
    if (!r.status && !['Gateway', 'GatewayClass', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute'].includes(r.kind ?? '')) continue;
    const bad = conds.find((x) => x.c.status !== 'True' && !(x.c.type === 'Programmed' && x.c.reason === 'Pending'))
      ?? conds.find((x) => x.c.status !== 'True');
    const message = bad ? `${bad.where ? `${bad.where}: ` : ''}${bad.c.type}: ${bad.c.message}` : conds.length ? '' : 'no status (not attached to a Gateway of ours)';
    const id = r.metadata.namespace ? `${r.metadata.namespace}/${r.metadata.name}` : r.metadata.name;
    rows.push([r.kind ?? '?', id, column(conds, 'Accepted'), column(conds, 'Programmed'), column(conds, 'ResolvedRefs'), message]);
  }
  const out = [rows.length > 1 ? table(rows) : 'No Gateway API resources.'];
  if (doc.problems?.length) {
    out.push('', `PROBLEMS (${doc.problems.length}):`);
    for (const p of doc.problems) out.push(`  ${p.text}`);
  }
  if (doc.gateways?.length) {
    out.push('', 'PROXIES:');
    for (const g of doc.gateways) {
      const proc = g.process ? `pid ${g.process.pid ?? '-'} ${g.process.state}${g.process.restarts ? `, ${g.process.restarts} restart${g.process.restarts === 1 ? '' : 's'}` : ''}` : 'not run here';
      const conns = (g.proxies ?? []).map((p: any) => `${p.nodeId} ${p.nack ? `REJECTS: ${p.nack.message}` : p.inSync ? 'in sync' : 'updating'}`);
      out.push(`  ${g.irKey}: version ${g.version ?? '-'}; ${proc}; ${conns.length ? conns.join('; ') : 'no proxy connected'}${g.translationError ? `; translation failed: ${g.translationError}` : ''}`);
    }
  }
  return out.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { output: { type: 'string', short: 'o' }, admin: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    console.error(`egts status: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const output = values.output ?? 'table';
  if (!['table', 'yaml', 'json'].includes(output)) {
    console.error('egts status: -o must be table, yaml or json');
    return 2;
  }
  const admin = values.admin ?? process.env.EGTS_ADMIN ?? `${defaultAdmin.host}:${defaultAdmin.port}`;
  const [kind, ref] = positionals;
  let path = '/api/status';
  if (kind) path += `/${encodeURIComponent(kind)}`;
  if (ref) path += `/${ref.split('/').map(encodeURIComponent).join('/')}`;
  let res: Response;
  try {
    res = await fetch(`http://${admin}${path}`);
  } catch (err) {
    console.error(`egts status: cannot reach egts serve's admin server at ${admin}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
    return 1;
  }
  const body = (await res.json()) as any;
  if (!res.ok) {
    console.error(`egts status: ${body.error ?? res.statusText}`);
    return 1;
  }
  if (output === 'json') console.log(JSON.stringify(body, null, 2));
  else if (output === 'yaml') process.stdout.write(stringify(body));
  else console.log(renderTable(body.resources ? body : { resources: [body] }));
  return 0;
}
