// The HTTP features policies turn on, in the order their resources are added.
import { apiKeyAuth } from './apikeyauth.js';
import { bandwidthLimit } from './bandwidth.js';
import { basicAuth } from './basicauth.js';
import { requestBuffer } from './buffer.js';
import { credentialInjection } from './credentialinjector.js';
import { csrf } from './csrf.js';
import { customResponse } from './customresponse.js';
import { dynamicForwardProxy } from './dfp.js';
import { dynamicModules } from './dynamicmodule.js';
import { extAuth } from './extauth.js';
import { extProc } from './extproc.js';
import type { HTTPFeature } from './feature.js';
import { headerMutation } from './headermutation.js';
import { jwt } from './jwt.js';
import { localRateLimit } from './localratelimit.js';
import { lua } from './lua.js';
import { oidc } from './oidc.js';
import { globalRateLimit } from './ratelimit.js';
import { geoip, rbac } from './rbac.js';
import { sessionPersistence } from './session.js';
import { compressor, cors, fault } from './traffic.js';
import { wasm } from './wasm.js';

export const features: HTTPFeature[] = [
  fault, customResponse, cors, headerMutation, extAuth, apiKeyAuth, basicAuth, oidc, jwt, sessionPersistence, requestBuffer,
  lua, extProc, wasm, dynamicModules, geoip, rbac, dynamicForwardProxy, csrf, localRateLimit, globalRateLimit, bandwidthLimit, compressor,
  credentialInjection,
];
