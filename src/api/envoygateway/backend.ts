// Backend: a destination that is not a Kubernetes Service (FQDN, IP or Unix socket endpoints,
// or a dynamic resolver that follows the request's host), with its TLS and protocols.
import { resource } from '../meta.js';
import { isIP, int32, list, rule, str, z } from '../schema.js';
import { Conditions, Group, Kind, ObjectName, Namespace, PreciseHostname, SecretObjectReference } from '../gatewayapi/shared.js';
import { clusterSettingsShape, tlsSettingsShape, tlsVersionOrder } from './shared.js';

const dnsName = /^(([a-z0-9][-a-z0-9]*[a-z0-9])|[a-z0-9])(\.(([a-z0-9][-a-z0-9]*[a-z0-9])|[a-z0-9]))*$/;

export const FQDNEndpoint = z.strictObject({
  hostname: str({ min: 1, max: 253, pattern: dnsName, what: 'a lowercase DNS name (no wildcard)' }),
  port: int32(0, 65535),
});

export const IPEndpoint = z
  .strictObject({ address: str({ min: 3, max: 45 }), port: int32(0, 65535) })
  .superRefine(
    rule((e, fail) => {
      if (!isIP(e.address)) fail('must be an IPv4 or IPv6 address', 'address');
    }),
  );

export const UnixSocket = z.strictObject({ path: str({ min: 1 }) });

/** One endpoint: exactly one of fqdn, ip or unix. */
export const BackendEndpoint = z
  .strictObject({
    fqdn: FQDNEndpoint.optional(),
    ip: IPEndpoint.optional(),
    unix: UnixSocket.optional(),
    hostname: str().optional(),
    zone: str().optional(),
  })
  .superRefine(
    rule((e, fail) => {
      const n = [e.fqdn, e.ip, e.unix].filter((x) => x !== undefined).length;
      if (n === 0) fail('one of fqdn, ip or unix is required');
      if (n > 1) fail('give only one of fqdn, ip or unix');
    }),
  );
export type BackendEndpoint = z.input<typeof BackendEndpoint>;

export const AppProtocolType = z.enum(['gateway.envoyproxy.io/h2c', 'gateway.envoyproxy.io/ws', 'gateway.envoyproxy.io/wss']);

export const BackendTLSSettings = z
  .strictObject({
    caCertificateRefs: list(z.strictObject({ group: Group, kind: Kind, name: ObjectName, namespace: Namespace.optional() }), 8).optional(),
    wellKnownCACertificates: z.enum(['System']).optional(),
    insecureSkipVerify: z.boolean().optional(),
    sni: PreciseHostname.optional(),
    autoSNIFromEndpointHostname: z.boolean().optional(),
    clientCertificateRef: SecretObjectReference.optional(),
    ...tlsSettingsShape,
  })
  .superRefine(tlsVersionOrder)
  .superRefine(
    rule((t, fail) => {
      const refs = (t.caCertificateRefs?.length ?? 0) > 0;
      if (refs && t.wellKnownCACertificates) fail('give caCertificateRefs or wellKnownCACertificates, not both', 'wellKnownCACertificates');
      if (t.insecureSkipVerify && (refs || t.wellKnownCACertificates)) fail('CA certificates may not be given when insecureSkipVerify is set', 'insecureSkipVerify');
    }),
  );
export type BackendTLSSettings = z.input<typeof BackendTLSSettings>;

export const BackendSpec = z
  .strictObject({
    type: z.enum(['Endpoints', 'DynamicResolver']).default('Endpoints'),
    endpoints: list(BackendEndpoint, 64).optional(),
    appProtocols: list(AppProtocolType).optional(),
    fallback: z.boolean().optional(),
    tls: BackendTLSSettings.optional(),
    ...clusterSettingsShape,
  })
  .superRefine(
    rule((b, fail) => {
      const eps = b.endpoints ?? [];
      if ((b.type ?? 'Endpoints') === 'DynamicResolver') {
        if (eps.length) fail('endpoints may not be given when type is DynamicResolver', 'endpoints');
      } else {
        const fqdn = eps.filter((e) => e.fqdn !== undefined).length;
        if (fqdn > 0 && fqdn < eps.length) fail('fqdn endpoints may not be mixed with ip or unix endpoints', 'endpoints');
      }
    }),
  );
export type BackendSpec = z.input<typeof BackendSpec>;

export const BackendStatus = z.strictObject({ conditions: Conditions.optional() });

export const Backend = resource('Backend', { spec: BackendSpec, status: BackendStatus.optional() });
export type Backend = z.input<typeof Backend>;
