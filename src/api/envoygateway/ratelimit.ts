// Rate limits of a BackendTrafficPolicy: global (through the rate limit service) and local
// (in each proxy), each a list of rules that select clients and set a limit per unit of time.
import { int64, list, rule, str, z } from '../schema.js';
import { CIDR } from './clienttrafficpolicy.js';

export const RateLimitHeaderMatch = z
  .strictObject({
    type: z.enum(['Exact', 'RegularExpression', 'Distinct']).default('Exact'),
    name: str({ min: 1, max: 256 }),
    value: str({ max: 1024 }).optional(),
    invert: z.boolean().default(false),
  })
  .superRefine(
    rule((h, fail) => {
      if ((h.type ?? 'Exact') !== 'Distinct' && h.value === undefined && !h.invert) fail(`value is required when type is ${h.type ?? 'Exact'}`, 'value');
      if (h.type === 'Distinct' && h.value !== undefined) fail('value may not be set when type is Distinct', 'value');
      if (h.type === 'Distinct' && h.invert) fail('invert may not be set when type is Distinct', 'invert');
    }),
  );

export const RateLimitSelectCondition = z.strictObject({
  headers: list(RateLimitHeaderMatch, 16).optional(),
  methods: list(z.strictObject({ value: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']), invert: z.boolean().default(false) }), 16).optional(),
  path: z
    .strictObject({ type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).default('PathPrefix'), value: str({ max: 1024 }).default('/'), invert: z.boolean().default(false) })
    .optional(),
  sourceCIDR: z.strictObject({ type: z.enum(['Exact', 'Distinct']).default('Exact'), value: CIDR, invert: z.boolean().default(false) }).optional(),
  queryParams: list(z.strictObject({ name: str({ min: 1 }), type: z.enum(['Exact', 'RegularExpression', 'Distinct']).default('Exact'), value: str().optional(), invert: z.boolean().default(false) }), 16).optional(),
});

const RateLimitUnit = z.enum(['Second', 'Minute', 'Hour', 'Day', 'Month', 'Year']);

const MetadataKey = z.strictObject({ namespace: str({ min: 1 }), key: str({ min: 1 }) });

export const RateLimitValue = z
  .strictObject({ requests: int64(0).optional(), unit: RateLimitUnit.optional(), fromMetadata: MetadataKey.optional() })
  .superRefine(
    rule((l, fail) => {
      if (l.fromMetadata === undefined) {
        if (l.requests === undefined) fail('requests is required', 'requests');
        if (l.unit === undefined) fail('unit is required', 'unit');
      }
    }),
  );

const RateLimitCostSpecifier = z
  .strictObject({ from: z.enum(['Number', 'Metadata']), number: int64(0).optional(), metadata: MetadataKey.optional() })
  .superRefine(
    rule((c, fail) => {
      if (c.from === 'Number' && c.number === undefined) fail('number is required when from is Number', 'number');
      if (c.from === 'Metadata' && !c.metadata) fail('metadata is required when from is Metadata', 'metadata');
      if (c.from === 'Number' && c.metadata) fail('metadata may only be set when from is Metadata', 'metadata');
      if (c.from === 'Metadata' && c.number !== undefined) fail('number may only be set when from is Number', 'number');
    }),
  );

export const RateLimitRule = z.strictObject({
  clientSelectors: list(RateLimitSelectCondition, 8).optional(),
  limit: RateLimitValue,
  cost: z.strictObject({ request: RateLimitCostSpecifier.optional(), response: RateLimitCostSpecifier.optional() }).optional(),
  shared: z.boolean().optional(),
  shadowMode: z.boolean().optional(),
  xRateLimitHeaders: z.enum(['Off', 'DraftVersion03']).optional(),
});
export type RateLimitRule = z.input<typeof RateLimitRule>;

export const RateLimitSpec = z
  .strictObject({
    type: z.enum(['Global', 'Local']).optional(),
    global: z.strictObject({ rules: list(RateLimitRule, 64), shared: z.boolean().optional() }).optional(),
    local: z.strictObject({ rules: list(RateLimitRule, 16).optional() }).optional(),
  })
  .superRefine(
    rule((r, fail) => {
      if (r.type === 'Global' && !r.global) fail('global is required when type is Global', 'global');
      if (r.type === 'Local' && !r.local) fail('local is required when type is Local', 'local');
      if (!r.type && !r.global && !r.local) fail('global or local is required', 'global');
      r.local?.rules?.forEach((l, i) => {
        if (l.cost?.response) fail('local rate limits do not support response costs', 'local', 'rules', i, 'cost', 'response');
      });
    }),
  );
export type RateLimitSpec = z.input<typeof RateLimitSpec>;


