// The golden suites this build provides; each module registers itself with the runner.
import { registerSuite } from './main.js';

registerSuite('gatewayapi', async () => (await import('./gatewayapi.js')).default);
registerSuite('xds', async () => (await import('./xds.js')).xdsSuite);
registerSuite('ratelimit', async () => (await import('./ratelimit.js')).ratelimitSuite);
