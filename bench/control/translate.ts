// One control-plane translation measured stage by stage, in a process of its own (run by
// bench/control/main.ts with --expose-gc): the fixture's files read and validated by the file
// provider, gathered per GatewayClass, translated to IR (gatewayapi), to Envoy resources (xds,
// each checked against Envoy's rules), and encoded into an xDS snapshot. The first (cold) pass
// is what a start costs; the best of the warm passes what translating the same input again
// costs in a running control plane (unchanged resources are not checked or encoded again). Memory is
// taken after the cold pass, everything it produced still held, after a full GC.
//   node --expose-gc dist/bench/control/translate.js scale:<n> | large
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileProvider } from '../../src/provider/file/provider.js';
import { gatherResources } from '../../src/provider/gather.js';
import { defaultControllerName, defaultSettings } from '../../src/gatewayapi/settings.js';
import { translate } from '../../src/gatewayapi/translator.js';
import { translateXds } from '../../src/xds/translator/index.js';
import { cachedProtoValidator } from '../../src/xds/translator/validate.js';
import { CheckCache } from '../../src/xds/proto/check-cache.js';
import { makeSnapshot } from '../../src/xds/server/snapshot.js';
import { TYPE_URL } from '../../src/xds/proto/index.js';
import type { Xds } from '../../src/ir/xds.js';
import { large, scale } from './fixtures.js';
import { memoryAfterGC, notAccepted, type TranslateReport } from './measure.js';

const arg = process.argv[2] ?? 'scale:1000';
const files = arg === 'large' ? large() : scale(Number(arg.split(':')[1]));
const dir = mkdtempSync(join(tmpdir(), 'egts-bench-control-'));
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
const bytes = Object.values(files).reduce((n, t) => n + Buffer.byteLength(t), 0);

const settings = (className: string) => defaultSettings({
  gatewayControllerName: defaultControllerName, gatewayClassName: className, backendEnabled: true, envoyPatchPolicyEnabled: true, runningOnHost: true,
});

// As `egts serve` runs it: resources checked and encoded once, and again only when they change.
const cache = new CheckCache();

function pipeline(objects: Parameters<typeof gatherResources>[0]) {
  cache.nextGeneration();
  const t: Record<string, number> = {};
  const cpu: Record<string, number> = {};
  let mark = performance.now();
  let cpuMark = cpuMs();
  const lap = (name: string) => {
    const now = performance.now();
    const c = cpuMs();
    t[name] = now - mark;
    cpu[name] = c - cpuMark;
    mark = now;
    cpuMark = c;
  };
  const classes = gatherResources(objects, defaultControllerName);
  lap('gather');
  const translations = classes.map((c) => translate(c.resources, settings(c.name)));
  lap('gatewayapi');
  const xds = translations.flatMap((r) => Object.values(r.xdsIR).map((ir) => translateXds(ir as Xds, { controllerNamespace: 'envoy-gateway-system', dnsDomain: 'cluster.local', validator: cachedProtoValidator(cache) })));
  lap('xds');
  const snapshots = xds.map((x, i) => makeSnapshot(String(i), {
    [TYPE_URL.cluster]: x.resources.clusters, [TYPE_URL.endpoint]: x.resources.endpoints, [TYPE_URL.listener]: x.resources.listeners,
    [TYPE_URL.route]: x.resources.routes, [TYPE_URL.secret]: x.resources.secrets,
  }, cache));
  lap('snapshot');
  return { t, cpu, translations, xds, snapshots };
}

/** CPU time of this process (user + system), ms: on a busy machine, what the wall clock cannot show. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const t0 = performance.now();
const c0 = cpuMs();
const provider = new FileProvider({ paths: [dir], resyncMs: 0 });
const snap = await provider.start();
provider.stop();
const loadMs = performance.now() - t0;
const loadCpuMs = cpuMs() - c0;
const objects = [...snap.objects.values()].map((o) => o.object);
const cold = pipeline(objects);
const held = { snap, cold };
const memory = memoryAfterGC();
const warm: Record<string, number>[] = [];
for (let i = 0; i < 3; i++) warm.push(pipeline(objects).t);
const best = (k: string) => Math.min(...warm.map((w) => w[k]!));

const counts: Record<string, number> = {};
for (const x of cold.xds) {
  for (const [k, v] of Object.entries(x.resources)) counts[k] = (counts[k] ?? 0) + (Array.isArray(v) ? v.length : 0);
  counts.virtualHosts = (counts.virtualHosts ?? 0) + (x.resources.routes as { virtualHosts?: { routes?: unknown[] }[] }[]).reduce((n, r) => n + (r.virtualHosts?.length ?? 0), 0);
  counts.envoyRoutes = (counts.envoyRoutes ?? 0) + (x.resources.routes as { virtualHosts?: { routes?: unknown[] }[] }[]).reduce((n, r) => n + (r.virtualHosts ?? []).reduce((m, v) => m + (v.routes?.length ?? 0), 0), 0);
}
const report: TranslateReport = {
  fixture: arg,
  objects: objects.length,
  inputMB: Math.round(bytes / 1e4) / 100,
  problems: snap.problems.length + cold.xds.reduce((n, x) => n + x.errors.length, 0) + cold.snapshots.reduce((n, s) => n + s.problems.length, 0),
  notAccepted: notAccepted(cold.translations.map((r) => r.resources)),
  output: counts,
  coldMs: { load: loadMs, ...cold.t },
  coldCpuMs: { load: loadCpuMs, ...cold.cpu },
  warmMs: Object.fromEntries(Object.keys(cold.t).map((k) => [k, best(k)])),
  memory,
};
void held;
rmSync(dir, { recursive: true, force: true });
writeFileSync(process.env.EGTS_BENCH_OUT ?? '/dev/stderr', JSON.stringify(report));
