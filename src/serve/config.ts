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

  const level = doc.logging?.level?.default;
  if (level !== undefined) {
    if (['debug', 'info', 'warn', 'error'].includes(level)) config.logLevel = level;
    else problem('logging.level.default', 'must be one of debug, info, warn, error');
  }
  config.paths = [...new Set(config.paths)];
  return { config, problems };
}
