// The HTTP features policies turn on, in the order their resources are added.
import { basicAuth } from './basicauth.js';
import { extAuth } from './extauth.js';
import type { HTTPFeature } from './feature.js';
import { jwt } from './jwt.js';
import { oidc } from './oidc.js';
import { localRateLimit } from './localratelimit.js';
import { globalRateLimit } from './ratelimit.js';
import { geoip, rbac } from './rbac.js';
import { compressor, cors, fault } from './traffic.js';
import { wasm } from './wasm.js';

export const features: HTTPFeature[] = [fault, cors, extAuth, basicAuth, oidc, jwt, wasm, geoip, rbac, localRateLimit, globalRateLimit, compressor];
