// ReferenceGrant: lets objects of the listed kinds in other namespaces refer to objects here.
import { resource } from '../meta.js';
import { list, z } from '../schema.js';
import { Group, Kind, Namespace, ObjectName } from './shared.js';

export const ReferenceGrantFrom = z.strictObject({ group: Group, kind: Kind, namespace: Namespace });
export type ReferenceGrantFrom = z.input<typeof ReferenceGrantFrom>;

export const ReferenceGrantTo = z.strictObject({ group: Group, kind: Kind, name: ObjectName.optional() });
export type ReferenceGrantTo = z.input<typeof ReferenceGrantTo>;

export const ReferenceGrantSpec = z.strictObject({
  from: list(ReferenceGrantFrom, 16, 1),
  to: list(ReferenceGrantTo, 16, 1),
});
export type ReferenceGrantSpec = z.input<typeof ReferenceGrantSpec>;

export const ReferenceGrant = resource('ReferenceGrant', { spec: ReferenceGrantSpec });
export type ReferenceGrant = z.input<typeof ReferenceGrant>;
