// BackendTLSPolicy: how the gateway verifies the TLS of the backends (Services) it targets.
import { resource } from '../meta.js';
import { list, rule, str, z } from '../schema.js';
import {
  LocalObjectReference,
  LocalPolicyTargetReferenceWithSectionName,
  Options,
  PolicyStatus,
  PreciseHostname,
  targetRefsWithSectionName,
} from './shared.js';

export const SubjectAltName = z
  .strictObject({
    type: z.enum(['Hostname', 'URI']),
    hostname: PreciseHostname.optional(),
    uri: str({ min: 1, max: 253, pattern: /^(([^:/?#]+):)(\/\/([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?/, what: 'an absolute URI' }).optional(),
  })
  .superRefine(
    rule((s, fail) => {
      if (s.type === 'Hostname' && !s.hostname) fail('hostname is required when type is Hostname', 'hostname');
      if (s.hostname && s.type !== 'Hostname') fail('hostname may only be set when type is Hostname', 'hostname');
      if (s.type === 'URI' && !s.uri) fail('uri is required when type is URI', 'uri');
      if (s.uri && s.type !== 'URI') fail('uri may only be set when type is URI', 'uri');
    }),
  );
export type SubjectAltName = z.input<typeof SubjectAltName>;

export const BackendTLSPolicyValidation = z
  .strictObject({
    caCertificateRefs: list(LocalObjectReference, 8).optional(),
    wellKnownCACertificates: z.enum(['System']).optional(),
    hostname: PreciseHostname,
    subjectAltNames: list(SubjectAltName, 5).optional(),
  })
  .superRefine(
    rule((v, fail) => {
      const refs = (v.caCertificateRefs?.length ?? 0) > 0;
      if (refs && v.wellKnownCACertificates) fail('give caCertificateRefs or wellKnownCACertificates, not both', 'wellKnownCACertificates');
      if (!refs && !v.wellKnownCACertificates) fail('caCertificateRefs or wellKnownCACertificates is required', 'caCertificateRefs');
    }),
  );
export type BackendTLSPolicyValidation = z.input<typeof BackendTLSPolicyValidation>;

export const BackendTLSPolicySpec = z.strictObject({
  targetRefs: list(LocalPolicyTargetReferenceWithSectionName, 16, 1).superRefine(rule(targetRefsWithSectionName)),
  validation: BackendTLSPolicyValidation,
  options: Options.optional(),
});
export type BackendTLSPolicySpec = z.input<typeof BackendTLSPolicySpec>;

export const BackendTLSPolicy = resource('BackendTLSPolicy', { spec: BackendTLSPolicySpec, status: PolicyStatus.optional() });
export type BackendTLSPolicy = z.input<typeof BackendTLSPolicy>;
