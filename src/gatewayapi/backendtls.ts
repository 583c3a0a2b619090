// Upstream TLS of a backend: from a BackendTLSPolicy targeting the Service (or Backend), or from
// the Backend's own tls settings, merged with the EnvoyProxy's backendTLS defaults.
import type { AnyObject } from '../resources/resources.js';
import type { RouteParentContext } from './contexts.js';
import type { Translation } from './translation.js';

export interface BackendTLSResult {
  tls?: Record<string, any>;
  error?: string;
}

export function backendTLSFor(_t: Translation, _ref: any, _namespace: string, _pc: RouteParentContext, _envoyProxy: AnyObject | undefined): BackendTLSResult {
  return {};
}
