// The HTTP filters this build implements; each module registers its factory.
import './cors.js';
import './grpc_stats.js';
import './grpc_web.js';
import './health_check.js';
import './api_key_auth.js';
import './basic_auth.js';
import './csrf.js';
import './jwt_authn.js';
import './rbac.js';
import './ext_authz.js';
import './oauth2.js';
// Traffic filters (rate limits, fault, compression, ...): one line, their list is traffic.ts.
import './traffic.js';
