// The traffic filters (Envoy Gateway's BackendTrafficPolicy, ClientTrafficPolicy and
// EnvoyExtensionPolicy features that are not about security); each module registers itself.
import './local_ratelimit.js';
import './fault.js';
import './header_mutation.js';
import './buffer.js';
import './compressor.js';
import './ratelimit.js';
import './lua/lua.js';
import './ext_proc.js';
import './geoip.js';
import './dynamic_modules.js';
import './wasm/wasm.js';
import './bandwidth_limit.js';
import './custom_response.js';
import './stateful_session.js';
import './credential_injector.js';
import './admission_control.js';
