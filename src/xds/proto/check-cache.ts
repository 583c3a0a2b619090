// checkResource's answers remembered by content, for a control plane that translates the same
// configuration again after each edit: a resource whose proto3 JSON is unchanged since the last
// translation is neither validated nor encoded again. Generational: what the last translation
// did not ask for is forgotten at the next one, so the cache holds one configuration's worth.
import * as crypto from 'node:crypto';
import { ProtoError, checkResource, toBinary } from './index.js';
import type { ValidationProblem } from './validate.js';

export interface Checked {
  problems: ValidationProblem[];
  /** The binary encoding, when the codec accepted the resource. */
  bytes?: Uint8Array;
}

interface Entry {
  /** Unset until the resource is validated (it may have been encoded only). */
  checked?: Checked;
  bytes?: Uint8Array;
  error?: ProtoError;
}

/** A content digest: one-shot where Node has it (crypto.hash), as it runs per resource. */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: 'base64') => string }).hash;
const digest = (text: string) => (oneShot ? oneShot('sha256', text, 'base64') : crypto.createHash('sha256').update(text).digest('base64'));

export class CheckCache {
  private previous = new Map<string, Entry>();
  private current = new Map<string, Entry>();

  /** Starts a translation: entries that the previous one used are kept, the rest dropped. */
  nextGeneration(): void {
    this.previous = this.current;
    this.current = new Map();
  }

  private entry(typeUrl: string, json: unknown): Entry {
    const key = `${typeUrl}\0${digest(JSON.stringify(json))}`;
    let e = this.current.get(key);
    if (!e) {
      e = this.previous.get(key) ?? {};
      this.current.set(key, e);
    }
    return e;
  }

  /** checkResource, from memory when a resource with the same type and JSON was checked. */
  check(typeUrl: string, json: unknown): Checked {
    const e = this.entry(typeUrl, json);
    if (!e.checked) {
      e.checked = checkResource(typeUrl, json);
      e.bytes = e.checked.bytes;
    }
    return e.checked;
  }

  /** toBinary, from memory when a resource with the same type and JSON was encoded; or why it does not encode. */
  encode(typeUrl: string, json: unknown): { bytes: Uint8Array } | { field: string; message: string } {
    const e = this.entry(typeUrl, json);
    if (!e.bytes && !e.error && !e.checked) {
      try {
        e.bytes = toBinary(typeUrl, json);
      } catch (err) {
        if (!(err instanceof ProtoError)) throw err;
        e.error = err;
      }
    }
    if (e.bytes) return { bytes: e.bytes };
    if (e.error) return { field: e.error.field, message: e.error.reason };
    const p = e.checked!.problems[0];
    return { field: p?.field ?? '', message: p?.message ?? 'does not encode' };
  }
}
