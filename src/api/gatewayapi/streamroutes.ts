// The layer-4 routes: TLSRoute (by SNI), TCPRoute and UDPRoute. Each rule forwards to weighted
// backends; there are no matches beyond the TLSRoute's hostnames.
import { resource } from '../meta.js';
import { list, rule, z } from '../schema.js';
import { checkRouteRules } from './httproute.js';
import { BackendRef, CommonRouteSpec, Hostname, RouteStatus, SectionName } from './shared.js';

export const StreamRouteRule = z.strictObject({
  name: SectionName.optional(),
  backendRefs: list(BackendRef, 16, 1),
});
export type StreamRouteRule = z.input<typeof StreamRouteRule>;
export type TLSRouteRule = StreamRouteRule;
export type TCPRouteRule = StreamRouteRule;
export type UDPRouteRule = StreamRouteRule;

const Rules = list(StreamRouteRule, 16, 1).superRefine(rule(checkRouteRules));

export const TLSRouteSpec = z.strictObject({ ...CommonRouteSpec, hostnames: list(Hostname, 16).optional(), rules: Rules });
export type TLSRouteSpec = z.input<typeof TLSRouteSpec>;
export const TLSRoute = resource('TLSRoute', { spec: TLSRouteSpec, status: RouteStatus.optional() });
export type TLSRoute = z.input<typeof TLSRoute>;

export const TCPRouteSpec = z.strictObject({ ...CommonRouteSpec, rules: Rules });
export type TCPRouteSpec = z.input<typeof TCPRouteSpec>;
export const TCPRoute = resource('TCPRoute', { spec: TCPRouteSpec, status: RouteStatus.optional() });
export type TCPRoute = z.input<typeof TCPRoute>;

export const UDPRouteSpec = z.strictObject({ ...CommonRouteSpec, rules: Rules });
export type UDPRouteSpec = z.input<typeof UDPRouteSpec>;
export const UDPRoute = resource('UDPRoute', { spec: UDPRouteSpec, status: RouteStatus.optional() });
export type UDPRoute = z.input<typeof UDPRoute>;
