// envoy.filters.http.geoip with the MaxMind provider: looks the client's address up in MaxMind
// databases (.mmdb, read with the `maxmind` package) and writes what it finds into request
// headers named by the config (geo_field_keys, or the older geo_headers_to_add), where later
// filters (Envoy Gateway's geo-based RBAC rules) read them. The client address is the one the
// connection manager trusts (use_remote_address, xff_num_trusted_hops), or, with xff_config, the
// x-forwarded-for entry that many hops from the right. Databases are opened once per config.
// The configured headers are removed from every request before the lookup, so that a client
// cannot supply them itself when a lookup finds nothing.
import { Reader } from 'maxmind';
import { ConfigError } from '../../config/errors.js';
import { anyType, at, field, num, obj, str, type Json } from '../../config/json.js';
import { FilterStatus, type FilterFactoryContext, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, removeHeader, setHeader } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { FilterStats, trustedClientAddress } from './auth_common.js';

type Db = 'city' | 'country' | 'asn' | 'isp' | 'anon';
type Rec = Record<string, any>;

/** A geolocation field: where it is looked up and how its value is read from the record. */
interface FieldSpec { dbs: Db[]; read: (r: Rec) => string | undefined }

const flag = (name: string) => (r: Rec) => (r[name] === true ? 'true' : 'false');

/** Envoy's fields (GeolocationFieldKeys names in the JSON mapping), English names for places. */
const FIELDS: Record<string, FieldSpec> = {
  country: { dbs: ['country', 'city'], read: (r) => r.country?.iso_code },
  city: { dbs: ['city'], read: (r) => r.city?.names?.en },
  region: { dbs: ['city'], read: (r) => r.subdivisions?.[0]?.iso_code },
  asn: { dbs: ['asn', 'isp'], read: (r) => (r.autonomous_system_number === undefined ? undefined : String(r.autonomous_system_number)) },
  isp: { dbs: ['isp'], read: (r) => r.isp },
  applePrivateRelay: { dbs: ['isp'], read: flag('is_apple_private_relay') },
  anon: { dbs: ['anon'], read: flag('is_anonymous') },
  isAnon: { dbs: ['anon'], read: flag('is_anonymous') },
  anonVpn: { dbs: ['anon'], read: flag('is_anonymous_vpn') },
  anonHosting: { dbs: ['anon'], read: flag('is_hosting_provider') },
  anonTor: { dbs: ['anon'], read: flag('is_tor_exit_node') },
  anonProxy: { dbs: ['anon'], read: flag('is_public_proxy') },
};

const DB_FIELDS: Record<Db, string> = { city: 'cityDbPath', country: 'countryDbPath', asn: 'asnDbPath', isp: 'ispDbPath', anon: 'anonDbPath' };

interface Lookup { header: string; reader: Reader<Rec>; read: FieldSpec['read'] }

interface GeoipConfig {
  xffHops: number | undefined;
  lookups: Lookup[];
}

function compileGeoip(c: Json, path: string, ctx: FilterFactoryContext): GeoipConfig {
  const xff = obj(c, 'xffConfig', path);
  const provider = obj(c, 'provider', path);
  const pp = at(path, 'provider');
  if (!provider) throw new ConfigError(pp, 'required');
  const tc = obj(provider, 'typedConfig', pp);
  const tp = at(pp, 'typedConfig');
  if (!tc) throw new ConfigError(tp, 'required');
  const type = anyType(tc, tp);
  if (type !== 'envoy.extensions.geoip_providers.maxmind.v3.MaxMindConfig') throw new ConfigError(tp, `unsupported geolocation provider ${type} (only MaxMind is)`);
  const common = obj(tc, 'commonProviderConfig', tp);
  const cp = at(tp, 'commonProviderConfig');
  if (!common) throw new ConfigError(cp, 'required');
  const keysName = field(common, 'geoFieldKeys') !== undefined ? 'geoFieldKeys' : 'geoHeadersToAdd';
  const keys = obj(common, keysName, cp);
  if (!keys) throw new ConfigError(at(cp, 'geoFieldKeys'), 'one of geo_field_keys or geo_headers_to_add is required');
  const readers = new Map<Db, Reader<Rec>>();
  const open = (db: Db): Reader<Rec> | undefined => {
    if (readers.has(db)) return readers.get(db);
    const file = str(tc, DB_FIELDS[db], tp);
    if (!file) return undefined;
    const fp = at(tp, DB_FIELDS[db]);
    if (!file.endsWith('.mmdb')) throw new ConfigError(fp, 'must name a .mmdb file');
    let reader: Reader<Rec>;
    try {
      reader = new Reader<Rec>(ctx.readFile(file));
    } catch (err) {
      throw new ConfigError(fp, `cannot open MaxMind database ${file}: ${(err as Error).message}`);
    }
    readers.set(db, reader);
    return reader;
  };
  const lookups: Lookup[] = [];
  for (const [name, header] of Object.entries(keys)) {
    const kp = at(at(cp, keysName), name);
    if (typeof header !== 'string') throw new ConfigError(kp, 'expected a header name');
    if (!header) continue;
    const spec = FIELDS[name];
    if (!spec) throw new ConfigError(kp, 'unknown geolocation field');
    let reader: Reader<Rec> | undefined;
    for (const db of spec.dbs) { reader = open(db); if (reader) break; }
    if (!reader) throw new ConfigError(kp, `${spec.dbs.map((d) => DB_FIELDS[d]).join(' or ')} is required to look up ${name}`);
    lookups.push({ header: header.toLowerCase(), reader, read: spec.read });
  }
  const order = [...readers.values()];
  lookups.sort((a, b) => order.indexOf(a.reader) - order.indexOf(b.reader));
  return { xffHops: xff ? num(xff, 'xffNumTrustedHops', at(path, 'xffConfig'), 0) : undefined, lookups };
}

/** The address Envoy's XFF utility picks: `hops` entries from the right of x-forwarded-for. */
function xffAddress(s: HttpStream, hops: number): string {
  const xff = getHeader(s.headers, 'x-forwarded-for');
  if (!xff) return s.downstream.remoteAddress;
  const parts = xff.split(',');
  const i = parts.length - 1 - hops;
  return i >= 0 ? parts[i]!.trim() || s.downstream.remoteAddress : s.downstream.remoteAddress;
}

function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

class GeoipFilter implements HttpFilter {
  private readonly stats: FilterStats<string>;

  constructor(readonly name: string, private readonly cfg: GeoipConfig) {
    this.stats = new FilterStats('geoip.', cfg.lookups.flatMap((l) => [`${l.header}.total`, `${l.header}.hit`]));
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    const cfg = this.cfg;
    const h = s.headers;
    for (const l of cfg.lookups) removeHeader(h, l.header);
    const addr = plainAddress(cfg.xffHops === undefined ? trustedClientAddress(s) : xffAddress(s, cfg.xffHops));
    const stats = this.stats.of(s);
    // Lookups are sorted by database: each is searched once, whatever the fields read from it.
    let last: Reader<Rec> | undefined;
    let rec: Rec | null = null;
    for (const l of cfg.lookups) {
      stats[`${l.header}.total`]!.value++;
      if (l.reader !== last) {
        last = l.reader;
        try { rec = l.reader.get(addr); } catch { rec = null; }
      }
      const v = rec ? l.read(rec) : undefined;
      if (v === undefined || v === null) continue;
      stats[`${l.header}.hit`]!.value++;
      setHeader(h, l.header, String(v));
    }
    return FilterStatus.Continue;
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.geoip.v3.Geoip',
  create: (name, c, path, ctx) => new GeoipFilter(name, compileGeoip(c, path, ctx)),
});
