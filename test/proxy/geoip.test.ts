// geoip with MaxMind databases the test writes itself (test/support/mmdb.ts): the client address
// as the connection manager trusts it (peer, or x-forwarded-for with trusted hops, or the
// filter's own xff_config), fields written to the configured headers, client-supplied copies of
// those headers removed, and config errors naming the field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toBinary } from '../../src/xds/proto/index.js';
import { buildMmdb } from '../support/mmdb.js';
import { get, problemsOf, startProxy, typed, type Running } from './auth/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'egts-geoip-'));
const cityDb = join(dir, 'City.mmdb');
const anonDb = join(dir, 'Anonymous-IP.mmdb');

const geoip = (extra: object = {}) => ({
  name: 'envoy.filters.http.geoip',
  typedConfig: typed('envoy.extensions.filters.http.geoip.v3.Geoip', {
    provider: { name: 'envoy.geoip_providers.maxmind', typedConfig: typed('envoy.extensions.geoip_providers.maxmind.v3.MaxMindConfig', {
      cityDbPath: cityDb, anonDbPath: anonDb,
      commonProviderConfig: { geoFieldKeys: { country: 'x-geo-country', city: 'x-geo-city', region: 'x-geo-region', anonProxy: 'x-geo-anon-proxy' } },
    }) },
    ...extra,
  }),
});

describe('geoip', () => {
  let direct: Running;
  let trusted: Running;
  let ownXff: Running;

  before(async () => {
    writeFileSync(cityDb, buildMmdb('GeoLite2-City', {
      '127.0.0.0/8': { country: { iso_code: 'US' }, city: { names: { en: 'Seattle', de: 'Seattle' } }, subdivisions: [{ iso_code: 'WA' }] },
      '203.0.113.0/24': { country: { iso_code: 'DE' }, city: { names: { en: 'Berlin' } } },
    }));
    writeFileSync(anonDb, buildMmdb('GeoIP2-Anonymous-IP', { '203.0.113.0/25': { is_anonymous: true, is_public_proxy: true } }));
    direct = await startProxy({ filters: [geoip()], routes: [{ name: 'r', prefix: '/' }] });
    trusted = await startProxy({ filters: [geoip()], routes: [{ name: 'r', prefix: '/' }], hcm: { xffNumTrustedHops: 1 } });
    ownXff = await startProxy({ filters: [geoip({ xffConfig: { xffNumTrustedHops: 1 } })], routes: [{ name: 'r', prefix: '/' }] });
  });
  after(async () => { await direct?.close(); await trusted?.close(); await ownXff?.close(); rmSync(dir, { recursive: true, force: true }); });

  test('the peer address is looked up; what the client sent in those headers is replaced or removed', async () => {
    const res = await get(direct.port, '/', { 'x-geo-country': 'FR', 'x-geo-anon-proxy': 'true', 'x-forwarded-for': '203.0.113.7' });
    const h = JSON.parse(res.body).headers;
    assert.equal(h['x-geo-country'], 'US');
    assert.equal(h['x-geo-city'], 'Seattle');
    assert.equal(h['x-geo-region'], 'WA');
    assert.equal(h['x-geo-anon-proxy'], undefined, 'no anonymous-IP record: the header the client sent is gone');
  });

  test('x-forwarded-for with the connection manager\'s trusted hops', async () => {
    const h = JSON.parse((await get(trusted.port, '/', { 'x-forwarded-for': '203.0.113.7' })).body).headers;
    assert.equal(h['x-geo-country'], 'DE');
    assert.equal(h['x-geo-city'], 'Berlin');
    assert.equal(h['x-geo-region'], undefined);
    assert.equal(h['x-geo-anon-proxy'], 'true');
  });

  test('the filter\'s own xff_config', async () => {
    // The proxy appended the peer (127.0.0.1): one trusted hop from the right is the client's entry.
    const h = JSON.parse((await get(ownXff.port, '/', { 'x-forwarded-for': '203.0.113.200' })).body).headers;
    assert.equal(h['x-geo-country'], 'DE');
    assert.equal(h['x-geo-anon-proxy'], undefined, 'outside the anonymous network: nothing found, nothing written');
    const anon = JSON.parse((await get(ownXff.port, '/', { 'x-forwarded-for': '203.0.113.20' })).body).headers;
    assert.equal(anon['x-geo-anon-proxy'], 'true');
  });

  test('country and ASN databases (Envoy Gateway\'s countryDbSource, asnDbSource) encode and load', async () => {
    const countryDb = join(dir, 'Country.mmdb');
    const asnDb = join(dir, 'ASN.mmdb');
    writeFileSync(countryDb, buildMmdb('GeoLite2-Country', { '127.0.0.0/8': { country: { iso_code: 'CA' } } }));
    writeFileSync(asnDb, buildMmdb('GeoLite2-ASN', { '127.0.0.0/8': { autonomous_system_number: 64512 } }));
    const mm = { countryDbPath: countryDb, asnDbPath: asnDb, commonProviderConfig: { geoFieldKeys: { country: 'x-geo-country', asn: 'x-geo-asn' } } };
    assert.ok(toBinary('envoy.extensions.geoip_providers.maxmind.v3.MaxMindConfig', mm).length > 0);
    const p = await startProxy({ filters: [{ name: 'envoy.filters.http.geoip', typedConfig: typed('envoy.extensions.filters.http.geoip.v3.Geoip', {
      provider: { name: 'envoy.geoip_providers.maxmind', typedConfig: typed('envoy.extensions.geoip_providers.maxmind.v3.MaxMindConfig', mm) } }) }],
    routes: [{ name: 'r', prefix: '/' }] });
    try {
      const h = JSON.parse((await get(p.port, '/')).body).headers;
      assert.equal(h['x-geo-country'], 'CA');
      assert.equal(h['x-geo-asn'], '64512');
    } finally { await p.close(); }
  });

  test('config errors name the field', async () => {
    const missing = await problemsOf({ filters: [{ name: 'envoy.filters.http.geoip', typedConfig: typed('envoy.extensions.filters.http.geoip.v3.Geoip', {
      provider: { name: 'envoy.geoip_providers.maxmind', typedConfig: typed('envoy.extensions.geoip_providers.maxmind.v3.MaxMindConfig', {
        cityDbPath: join(dir, 'nope.mmdb'), commonProviderConfig: { geoFieldKeys: { country: 'x-c' } } }) } }) }], routes: [{ name: 'r', prefix: '/' }] });
    assert.match(missing.join('\n'), /cityDbPath: cannot open MaxMind database/);
    const noDb = await problemsOf({ filters: [{ name: 'envoy.filters.http.geoip', typedConfig: typed('envoy.extensions.filters.http.geoip.v3.Geoip', {
      provider: { name: 'envoy.geoip_providers.maxmind', typedConfig: typed('envoy.extensions.geoip_providers.maxmind.v3.MaxMindConfig', {
        cityDbPath: cityDb, commonProviderConfig: { geoFieldKeys: { anonVpn: 'x-vpn' } } }) } }) }], routes: [{ name: 'r', prefix: '/' }] });
    assert.match(noDb.join('\n'), /anonVpn: anonDbPath is required/);
  });
});
