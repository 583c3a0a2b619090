// Calls from worker processes to the primary, for the little state that Envoy keeps once per
// proxy for all its worker threads (local rate limit token buckets): the primary owns it, the
// workers ask. In a single process (or in the primary itself) a call is a plain function call,
// so callers handle both a value and a promise.

type Handler = (payload: unknown) => unknown;

const services = new Map<string, Handler>();

/** Registers the primary's side of a service (every process registers; only the primary answers). */
export function registerPrimaryService(name: string, handler: Handler): void {
  services.set(name, handler);
}

/** The primary answers a worker's call. */
export function answerCall(service: string, payload: unknown): unknown {
  const h = services.get(service);
  return h ? h(payload) : undefined;
}

export interface CallMessage { t: 'call'; seq: number; service: string; payload: unknown }

let link: ((m: CallMessage) => void) | undefined;
let seq = 0;
const pending = new Map<number, (v: unknown) => void>();

/** Set in a worker process: how calls reach the primary. */
export function setPrimaryLink(send: (m: CallMessage) => void): void {
  link = send;
}

/** A worker receives the primary's answer. */
export function takeAnswer(id: number, value: unknown): void {
  const resolve = pending.get(id);
  if (!resolve) return;
  pending.delete(id);
  resolve(value);
}

/** Calls a service of the primary: directly when this process is the one that owns the state. */
export function callPrimary(service: string, payload: unknown): unknown {
  if (!link) return answerCall(service, payload);
  const id = ++seq;
  const send = link;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    send({ t: 'call', seq: id, service, payload });
  });
}
