// EnvoyExtensionPolicy: custom code in the request path (Wasm modules, external processors,
// Lua scripts, dynamic modules).
import { resource } from '../meta.js';
import { int32, list, rule, str, z } from '../schema.js';
import { Group, Kind, ObjectName, PolicyStatus, SecretObjectReference } from '../gatewayapi/shared.js';
import { backendClusterShape, GoDuration, MergeType, policyTargets, policyTargetShape } from './shared.js';

const sha256 = str({ pattern: /^[a-f0-9]{64}$/, what: '64 lowercase hex digits' });

export const WasmCodeSource = z
  .strictObject({
    type: z.enum(['HTTP', 'Image', 'ConfigMap']),
    http: z.strictObject({ url: str({ min: 1 }), sha256: sha256.optional() }).optional(),
    image: z.strictObject({ url: str({ min: 1 }), sha256: sha256.optional(), pullSecretRef: SecretObjectReference.optional() }).optional(),
    configMap: z.strictObject({ name: ObjectName, key: str().optional() }).optional(),
    pullPolicy: z.enum(['IfNotPresent', 'Always']).optional(),
  })
  .superRefine(
    rule((c, fail) => {
      const field = { HTTP: 'http', Image: 'image', ConfigMap: 'configMap' } as const;
      for (const [type, key] of Object.entries(field)) {
        const present = (c as Record<string, unknown>)[key] !== undefined;
        if (c.type === type && !present) fail(`${key} is required when type is ${type}`, key);
        if (present && c.type !== type) fail(`${key} may only be set when type is ${type}`, key);
      }
    }),
  );

export const Wasm = z.strictObject({
  name: str().optional(),
  rootID: str().optional(),
  code: WasmCodeSource,
  /** The plugin's own configuration, any JSON. */
  config: z.unknown().optional(),
  failOpen: z.boolean().default(false),
  env: z.strictObject({ hostKeys: list(str()).optional() }).optional(),
});
export type Wasm = z.input<typeof Wasm>;

const ProcessingModeOptions = z.strictObject({
  body: z.enum(['Streamed', 'Buffered', 'BufferedPartial', 'FullDuplexStreamed']).optional(),
  attributes: list(str()).optional(),
});

export const ExtProc = z.strictObject({
  ...backendClusterShape,
  messageTimeout: GoDuration.optional(),
  failOpen: z.boolean().optional(),
  processingMode: z
    .strictObject({ request: ProcessingModeOptions.optional(), response: ProcessingModeOptions.optional(), allowModeOverride: z.boolean().optional() })
    .optional(),
  metadata: z.strictObject({ accessibleNamespaces: list(str()).optional(), writableNamespaces: list(str()).optional() }).optional(),
  shadowMode: z.boolean().optional(),
  statusOnError: int32(100, 599).optional(),
});
export type ExtProc = z.input<typeof ExtProc>;

export const Lua = z
  .strictObject({
    type: z.enum(['Inline', 'ValueRef']).default('Inline'),
    inline: str().optional(),
    valueRef: z.strictObject({ group: Group, kind: Kind, name: ObjectName }).optional(),
    /** Values handed to the script, any JSON. */
    filterContext: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine(
    rule((l, fail) => {
      if ((l.type ?? 'Inline') === 'Inline' && l.inline === undefined) fail('inline is required when type is Inline', 'inline');
      if (l.type === 'ValueRef' && !l.valueRef) fail('valueRef is required when type is ValueRef', 'valueRef');
      if ((l.type ?? 'Inline') === 'Inline' && l.valueRef) fail('valueRef may only be set when type is ValueRef', 'valueRef');
      if (l.type === 'ValueRef' && l.inline !== undefined) fail('inline may only be set when type is Inline', 'inline');
    }),
  );
export type Lua = z.input<typeof Lua>;

export const DynamicModule = z.strictObject({
  name: str({ min: 1 }),
  filterName: str().optional(),
  config: z.unknown().optional(),
  /** The module answers requests itself: no router runs after it. */
  terminalFilter: z.boolean().optional(),
});

export const EnvoyExtensionPolicySpec = z
  .strictObject({
    ...policyTargetShape,
    mergeType: MergeType.optional(),
    wasm: list(Wasm, 16).optional(),
    extProc: list(ExtProc, 16).optional(),
    lua: list(Lua, 16).optional(),
    dynamicModule: list(DynamicModule, 16).optional(),
  })
  .superRefine(policyTargets);
export type EnvoyExtensionPolicySpec = z.input<typeof EnvoyExtensionPolicySpec>;

export const EnvoyExtensionPolicy = resource('EnvoyExtensionPolicy', { spec: EnvoyExtensionPolicySpec, status: PolicyStatus.optional() });
export type EnvoyExtensionPolicy = z.input<typeof EnvoyExtensionPolicy>;
