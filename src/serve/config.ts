// The EnvoyGateway configuration `egts serve` runs under (gateway.envoyproxy.io/v1alpha1,
// kind EnvoyGateway): provider Custom with a File resource provider and a Host infrastructure
// provider. Everything has a default, so `egts serve <dir>` needs no configuration file: the
// folder is the file provider's path and the proxies run on this machine. The one default that
// differs from Envoy Gateway's Kubernetes install is `extensionApis.enableBackend: true`: on a
// single machine, a Backend (IP, FQDN, Unix socket) is the natural way to name a local service.
import type { Place, Problem } from '../api/place.js';
import { defaultControllerName } from '../gatewayapi/settings.js';

export interface ServeConfig {
  controllerName: string;
  /** Files and folders the file provider reads and watches. */
  paths: string[];
  enableBackend: boolean;
  enableEnvoyPatchPolicy: boolean;
  /** The admin server (status, config dump, health, metrics). */
  admin: { host: string; port: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Global rate limiting (EnvoyGateway rateLimit): absent, it is off. */
  rateLimit?: ServeRateLimit;
}

/**
 * The EnvoyGateway rateLimit section. serve runs the rate limit service itself (in process);
 * counters are kept in Redis when `backend.type: Redis` names one, else (our addition: the
 * backend may be left out) in the service's memory.
 */
export interface ServeRateLimit {
  /** redis://host:port[/db] (Envoy Gateway's host:port gets the scheme added); none: memory. */
  redisUrl?: string;
  /** Timeout of the proxies' calls to the service (Go duration). */
  timeout?: string;
  /** Deny requests when the service cannot be reached. */
  failClosed: boolean;
}

export const defaultAdmin = { host: '127.0.0.1', port: 19000 };

export function defaultConfig(paths: string[]): ServeConfig {
  return {
    controllerName: defaultControllerName,
    paths,
    enableBackend: true,
    enableEnvoyPatchPolicy: true,
    admin: { ...defaultAdmin },
    logLevel: 'info',
  };
}

const isMapping = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads an EnvoyGateway document into the serve configuration. `paths` (from the command line)
 * are added to the file provider's. Problems are returned with their place; the configuration
 * is usable only when there are none.
 */
export function readConfig(doc: unknown, place: Place, cliPaths: string[]): { config: ServeConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const config = defaultConfig([...cliPaths]);
  const problem = (field: string, message: string) => problems.push({ message, place: { ...place, resource: 'EnvoyGateway', field } });
  if (!isMapping(doc)) {
    problems.push({ message: 'expected an EnvoyGateway object', place });
    return { config, problems };
  }
  if (doc.apiVersion !== 'gateway.envoyproxy.io/v1alpha1') problem('apiVersion', 'must be gateway.envoyproxy.io/v1alpha1');
  if (doc.kind !== 'EnvoyGateway') problem('kind', 'must be EnvoyGateway');

  const controllerName = doc.gateway?.controllerName;
  if (controllerName !== undefined) {
    if (typeof controllerName === 'string' && controllerName) config.controllerName = controllerName;
    else problem('gateway.controllerName', 'must be a non-empty string');
  }

  const provider = doc.provider;
  if (provider !== undefined) {
    if (provider.type !== 'Custom') problem('provider.type', `egts serve runs the Custom provider (File resources, Host infrastructure); found ${JSON.stringify(provider.type)}`);
    const resource = provider.custom?.resource;
    if (resource && resource.type !== 'File') problem('provider.custom.resource.type', `only File is supported; found ${JSON.stringify(resource.type)}`);
    const filePaths = resource?.file?.paths;
    if (filePaths !== undefined) {
      if (Array.isArray(filePaths) && filePaths.every((p) => typeof p === 'string')) config.paths.push(...filePaths);
      else problem('provider.custom.resource.file.paths', 'must be a list of paths');
    }
    const infra = provider.custom?.infrastructure;
    if (infra && infra.type !== 'Host') problem('provider.custom.infrastructure.type', `only Host is supported; found ${JSON.stringify(infra.type)}`);
  }

  const ext = doc.extensionApis;
  if (ext !== undefined) {
    // Given explicitly, the section means what it says (Envoy Gateway's defaults: all off).
    config.enableBackend = ext.enableBackend === true;
    config.enableEnvoyPatchPolicy = ext.enableEnvoyPatchPolicy === true;
  }

  const address = doc.admin?.address;
  if (address !== undefined) {
    if (address.host !== undefined) config.admin.host = String(address.host);
    if (address.port !== undefined) {
      const port = Number(address.port);
      if (Number.isInteger(port) && port >= 0 && port < 65536) config.admin.port = port;
      else problem('admin.address.port', 'must be a port number');
    }
  }

  if (doc.rateLimit !== undefined) config.rateLimit = readRateLimit(doc.rateLimit, problem);

  const level = doc.logging?.level?.default;
  if (level !== undefined) {
    if (['debug', 'info', 'warn', 'error'].includes(level)) config.logLevel = level;
    else problem('logging.level.default', 'must be one of debug, info, warn, error');
  }
  config.paths = [...new Set(config.paths)];
  return { config, problems };
}

const GO_DURATION = /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/;

function readRateLimit(rl: unknown, problem: (field: string, message: string) => void): ServeRateLimit | undefined {
  if (rl === null) return undefined;
  if (!isMapping(rl)) {
    problem('rateLimit', 'must be a mapping');
    return undefined;
  }
  const out: ServeRateLimit = { failClosed: false };
  const backend = rl.backend;
  if (backend !== undefined && backend !== null) {
    if (!isMapping(backend) || backend.type !== 'Redis') problem('rateLimit.backend.type', `only Redis is supported (or leave the backend out: counters in memory); found ${JSON.stringify(isMapping(backend) ? backend.type : backend)}`);
    else {
      const url = backend.redis?.url;
      if (typeof url !== 'string' || !url) problem('rateLimit.backend.redis.url', 'a Redis address (host:port) is required');
      else out.redisUrl = /^rediss?:\/\//.test(url) ? url : `redis://${url}`;
      if (backend.redis?.tls !== undefined) problem('rateLimit.backend.redis.tls', 'not supported by egts serve; use a rediss:// URL');
    }
  }
  if (rl.timeout !== undefined) {
    if (typeof rl.timeout === 'string' && GO_DURATION.test(rl.timeout)) out.timeout = rl.timeout;
    else problem('rateLimit.timeout', 'must be a duration such as 20ms or 1s');
  }
  if (rl.failClosed !== undefined) {
    if (typeof rl.failClosed === 'boolean') out.failClosed = rl.failClosed;
    else problem('rateLimit.failClosed', 'must be true or false');
  }
  return out;
}
