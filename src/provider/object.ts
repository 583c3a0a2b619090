// The shape providers hand objects around in: metadata typed, the rest as written. It is the
// same shape as the Resources bundle's AnyObject (structurally), without depending on it.
import type { KubernetesObject } from '../api/meta.js';

export interface AnyObject extends KubernetesObject {
  spec?: any;
  status?: any;
  [field: string]: any;
}
