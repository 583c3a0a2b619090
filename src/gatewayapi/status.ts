// Status conditions as the translator writes them: one condition per type, replaced in place when
// set again, in the order first set. Time and generation are not tracked here (the provider
// stamps them when it writes status back).
import type { Condition } from '../api/meta.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Sets (or replaces) the condition of this type in a conditions list. */
export function setCondition(conditions: Condition[], type: string, status: ConditionStatus, reason: string, message: string): void {
  const cond: Condition = { type, status, reason, message, lastTransitionTime: null };
  const i = conditions.findIndex((c) => c.type === type);
  if (i >= 0) conditions[i] = cond;
  else conditions.push(cond);
}

export function hasCondition(conditions: readonly Condition[] | undefined, type: string, status: ConditionStatus): boolean {
  return !!conditions?.some((c) => c.type === type && c.status === status);
}

/** Condition types and reasons of the Gateway API and Envoy Gateway, spelled once. */
export const Cond = {
  Accepted: 'Accepted',
  Programmed: 'Programmed',
  ResolvedRefs: 'ResolvedRefs',
  Conflicted: 'Conflicted',
  PartiallyInvalid: 'PartiallyInvalid',
  BackendsAvailable: 'BackendsAvailable',
  OverlappingTLSConfig: 'OverlappingTLSConfig',
} as const;

export const Reason = {
  Accepted: 'Accepted',
  Programmed: 'Programmed',
  ResolvedRefs: 'ResolvedRefs',
  Invalid: 'Invalid',
  InvalidParameters: 'InvalidParameters',
  UnsupportedAddress: 'UnsupportedAddress',
  UnsupportedProtocol: 'UnsupportedProtocol',
  ProtocolConflict: 'ProtocolConflict',
  HostnameConflict: 'HostnameConflict',
  NoConflicts: 'NoConflicts',
  InvalidCertificateRef: 'InvalidCertificateRef',
  PartiallyInvalidCertificateRef: 'PartiallyInvalidCertificateRef',
  InvalidRouteKinds: 'InvalidRouteKinds',
  RefNotPermitted: 'RefNotPermitted',
  ListenersNotValid: 'ListenersNotValid',
  NoMatchingParent: 'NoMatchingParent',
  NotAllowedByListeners: 'NotAllowedByListeners',
  NoMatchingListenerHostname: 'NoMatchingListenerHostname',
  UnsupportedValue: 'UnsupportedValue',
  BackendNotFound: 'BackendNotFound',
  InvalidKind: 'InvalidKind',
  UnsupportedAddressType: 'UnsupportedAddressType',
  InvalidBackendRef: 'InvalidBackendRef',
  InvalidBackendTLS: 'InvalidBackendTLS',
  InvalidBackendFilters: 'InvalidBackendFilters',
  EndpointsNotFound: 'EndpointsNotFound',
  PortNotFound: 'PortNotFound',
  PortNotSpecified: 'PortNotSpecified',
  InvalidAddress: 'InvalidAddress',
  UnsupportedRefValue: 'UnsupportedRefValue',
  UnsupportedSetting: 'UnsupportedSetting',
  IncompatibleFilters: 'IncompatibleFilters',
  InvalidRule: 'InvalidRule',
  NoReadyListeners: 'NoReadyListeners',
} as const;

/**
 * An error bound for a route's status: which condition it falsifies (ResolvedRefs unless said
 * otherwise) and with which reason.
 */
export class RouteError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly type: string = Cond.ResolvedRefs,
  ) {
    super(message);
  }

  withType(type: string): RouteError {
    return new RouteError(this.message, this.reason, type);
  }

  wrap(prefix: string): RouteError {
    return new RouteError(`${prefix}: ${this.message}`, this.reason, this.type);
  }
}

/**
 * Collects route errors grouped by condition type. One condition carries them all: its reason is
 * the distinct reasons, sorted and comma-joined, its message the messages joined.
 */
export class RouteErrors {
  private readonly byType = new Map<string, RouteError[]>();

  add(err: RouteError | undefined): void {
    if (!err) return;
    const l = this.byType.get(err.type);
    if (l) l.push(err);
    else this.byType.set(err.type, [err]);
  }

  get empty(): boolean {
    return this.byType.size === 0;
  }

  /** One entry per condition type, in the order first seen. */
  entries(): { type: string; reason: string; message: string }[] {
    return [...this.byType].map(([type, errs]) => ({ type, ...combine(errs) }));
  }

  /** All errors, merged into one per condition type. */
  merged(): RouteError[] {
    return this.entries().map((e) => new RouteError(e.message, e.reason, e.type));
  }
}

/** Several errors as one: distinct reasons sorted and joined, messages joined. */
export function combine(errs: readonly RouteError[]): { reason: string; message: string } {
  const reasons = [...new Set(errs.map((e) => e.reason).filter(Boolean))].sort();
  return { reason: reasons.join(','), message: errs.map((e) => e.message).join('\n') };
}

/** Reasons that the Accepted condition can carry as they are; others become UnsupportedValue. */
export function toAcceptedReason(reason: string): string {
  return reason === Reason.NotAllowedByListeners || reason === Reason.NoMatchingListenerHostname || reason === Reason.NoMatchingParent || reason === Reason.UnsupportedValue
    ? reason
    : Reason.UnsupportedValue;
}
