// Kubernetes object metadata and the status shapes every kind shares. The schemas are zod:
// one definition gives both the TypeScript type and the runtime check the API server would do.
import { z } from 'zod';

/** RFC 1123 DNS subdomain, as Kubernetes requires of most object names. */
export const dnsSubdomain = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase RFC 1123 subdomain');

/** RFC 1123 DNS label (namespace names, section names). */
export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 label');

/** metav1.ObjectMeta. Strict, like the rest: a misspelt metadata field is reported. */
export const ObjectMeta = z.strictObject({
  name: z.string().min(1),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  selfLink: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).nullish(),
  deletionTimestamp: z.union([z.string(), z.date()]).nullish(),
  deletionGracePeriodSeconds: z.number().int().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(z.record(z.string(), z.unknown())).optional(),
  managedFields: z.array(z.unknown()).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/** metav1.Condition, as written into every status. */
export const Condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.union([z.string(), z.date()]).nullish(),
});
export type Condition = z.infer<typeof Condition>;

/**
 * The schema of one kind of object: `apiVersion`, `kind`, `metadata`, and the kind's own fields
 * (`spec`, `status`, or for core kinds such as Secret, `data`...).
 */
export function resource<K extends string, S extends z.ZodRawShape>(kind: K | readonly [K, ...K[]], fields: S) {
  return z.strictObject({
    apiVersion: z.string(),
    kind: typeof kind === 'string' ? z.literal(kind) : z.enum(kind as readonly [K, ...K[]]),
    metadata: ObjectMeta,
    ...fields,
  });
}

/** The envelope of every object: its kind, its metadata, and a spec and status of its own. */
export interface KubernetesObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** `namespace/name`, the key most lookups use. */
export function namespacedName(o: KubernetesObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}
