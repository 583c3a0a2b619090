// STRICT_DNS and LOGICAL_DNS resolution: each endpoint's name is resolved now and every
// dns_refresh_rate; STRICT_DNS makes one host per address, LOGICAL_DNS one host with the first
// address. IP literals resolve to themselves. Lookups go through the OS resolver (dns.lookup),
// so /etc/hosts and localhost behave as the machine's other programs see them.
import dns from 'node:dns';
import net from 'node:net';
import type { ClusterSettings } from './cluster_config.js';
import type { Assignment, EndpointSpec } from './endpoints.js';

export interface DnsResolution {
  stop(): void;
}

export function resolveDns(s: ClusterSettings, template: Assignment, onUpdate: (a: Assignment) => void): DnsResolution {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let last = '';
  const family = s.dnsLookupFamily === 'V4_ONLY' ? 4 : s.dnsLookupFamily === 'V6_ONLY' ? 6 : 0;
  const resolveOne = async (spec: EndpointSpec): Promise<EndpointSpec[]> => {
    if (spec.pipe || net.isIP(spec.address)) return [spec];
    try {
      const addrs = await dns.promises.lookup(spec.address, { all: true, family, verbatim: s.dnsLookupFamily === 'V6_ONLY' || s.dnsLookupFamily === 'AUTO' });
      let list = addrs;
      if (s.dnsLookupFamily === 'V4_PREFERRED' && addrs.some((a) => a.family === 4)) list = addrs.filter((a) => a.family === 4);
      if (s.dnsLookupFamily === 'AUTO' && addrs.some((a) => a.family === 6)) list = addrs.filter((a) => a.family === 6);
      if (s.discovery === 'LOGICAL_DNS') list = list.slice(0, 1);
      return list.map((a) => ({ ...spec, address: a.address, hostname: spec.hostname || spec.address }));
    } catch {
      return [];
    }
  };
  const run = async () => {
    const priorities = await Promise.all(template.priorities.map(async (specs) => (await Promise.all(specs.map(resolveOne))).flat()));
    if (stopped) return;
    const key = JSON.stringify(priorities.map((l) => l.map((e) => `${e.address}:${e.port}`)));
    if (key !== last) {
      last = key;
      onUpdate({ priorities });
    }
    timer = setTimeout(run, Math.max(1000, s.dnsRefreshRateMs));
    timer.unref();
  };
  void run();
  return { stop: () => { stopped = true; if (timer) clearTimeout(timer); } };
}
