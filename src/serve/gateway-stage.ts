// The Gateway API stage of the pipeline: each GatewayClass's Resources bundle → statuses, and
// xDS IR and infra IR per IR key, published to the stores the next stages watch. A translation
// that throws (a bug, never bad input) leaves that class's previous outputs in force and is
// reported; the other classes are not affected. Unchanged IR is not republished (the stores
// compare the serialised IR), so an edit touching one Gateway re-translates only its xDS.
import type { Resources } from '../resources/resources.js';
import type { Xds } from '../ir/xds.js';
import type { ProxyInfra } from '../ir/infra.js';
import { translate } from '../gatewayapi/translator.js';
import type { TranslatorSettings } from '../gatewayapi/settings.js';
import { KeyedStore, type Changes } from '../store/store.js';
import type { AnyObject } from '../provider/object.js';
import { objectId } from '../provider/file/manifests.js';
import type { StatusBook } from './status.js';
import type { Logger } from './log.js';
import type { Metrics } from '../admin/metrics.js';

/** A GatewayClass's bundle, with a fingerprint of its objects' versions (what equality compares). */
export interface ClassResources {
  resources: Resources;
  fingerprint: string;
}

export interface IRValue {
  ir: Xds;
  /** The IR serialised: what equality compares. */
  json: string;
  className: string;
}

export interface InfraValue {
  infra: ProxyInfra;
  json: string;
}

export const sameJSON = (a: { json: string }, b: { json: string }) => a.json === b.json;

export function newIRStores(): { xdsIR: KeyedStore<IRValue>; infraIR: KeyedStore<InfraValue> } {
  return {
    xdsIR: new KeyedStore<IRValue>({ name: 'xds-ir', equals: sameJSON }),
    infraIR: new KeyedStore<InfraValue>({ name: 'infra-ir', equals: sameJSON }),
  };
}

export class GatewayStage {
  /** The IR keys each class produced last time. */
  private readonly keysByClass = new Map<string, Set<string>>();

  constructor(
    private readonly settingsFor: (className: string) => TranslatorSettings,
    private readonly xdsIR: KeyedStore<IRValue>,
    private readonly infraIR: KeyedStore<InfraValue>,
    private readonly status: StatusBook,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  readonly handle = (changes: Changes<ClassResources>): void => {
    for (const [className, value] of changes) {
      if (value) this.translateClass(className, value.resources);
      else this.removeClass(className);
    }
  };

  private removeClass(className: string): void {
    for (const key of this.keysByClass.get(className) ?? []) {
      this.xdsIR.delete(key);
      this.infraIR.delete(key);
    }
    this.keysByClass.delete(className);
    this.status.setClass(className, undefined);
    this.status.setProblems(`gatewayapi/${className}`, []);
    this.log.info(`GatewayClass ${className}: removed`);
  }

  private translateClass(className: string, resources: Resources): void {
    const started = performance.now();
    let result;
    try {
      result = translate(resources, this.settingsFor(className));
    } catch (err) {
      this.metrics?.translations.inc({ stage: 'gatewayapi', result: 'error' });
      const message = `translation failed, the last good configuration stays in force: ${(err as Error).message}`;
      this.log.error(`GatewayClass ${className}: ${(err as Error).stack ?? message}`);
      this.status.setProblems(`gatewayapi/${className}`, [{ message, place: { resource: `GatewayClass ${className}` } }]);
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    this.metrics?.translations.inc({ stage: 'gatewayapi', result: 'ok' });
    this.metrics?.translationSeconds.observe({ stage: 'gatewayapi' }, seconds);
    this.status.setProblems(`gatewayapi/${className}`, []);

    const keys = new Set(Object.keys(result.xdsIR));
    for (const key of this.keysByClass.get(className) ?? []) {
      if (keys.has(key)) continue;
      this.xdsIR.delete(key);
      this.infraIR.delete(key);
    }
    this.keysByClass.set(className, keys);
    for (const key of keys) {
      const ir = result.xdsIR[key] as Xds;
      this.xdsIR.set(key, { ir, json: JSON.stringify(ir), className });
      const infra = result.infraIR[key]?.proxy as ProxyInfra | undefined;
      if (infra) this.infraIR.set(key, { infra, json: JSON.stringify(infra) });
      else this.infraIR.delete(key);
    }

    const objects: AnyObject[] = [];
    for (const v of Object.values(result.resources)) {
      if (Array.isArray(v)) objects.push(...(v as AnyObject[]));
      else if (v) objects.push(v as AnyObject);
    }
    // Which IR key serves each Gateway: its own, or the class's when gateways are merged.
    const gatewayKeys = new Map<string, string>();
    for (const g of resources.gateways) {
      const own = `${g.metadata.namespace}/${g.metadata.name}`;
      const key = keys.has(own) ? own : keys.has(className) ? className : undefined;
      if (key) gatewayKeys.set(objectId('Gateway', g.metadata.name, g.metadata.namespace), key);
    }
    this.status.setClass(className, { objects, gatewayKeys });
    this.log.debug(`GatewayClass ${className}: translated in ${(seconds * 1000).toFixed(1)} ms (${keys.size} IR key${keys.size === 1 ? '' : 's'})`);
  }
}
