// Asks the proxy, every 2 ms, until it answers as wanted: in a worker thread, so that the polling
// takes nothing from the control plane's own thread, whose reaction time is being measured.
// Times are absolute (timeOrigin + now) so that both threads' clocks compare.
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export type Want = 'answer' | 'ok' | 'not-found';

interface Ask { host: string; want: Want; timeoutMs: number }
type Reply = { at: number } | { error: string };

const nowAbs = () => performance.timeOrigin + performance.now();
const matches = (status: number, want: Want) => (want === 'answer' ? status !== 0 : want === 'ok' ? status === 200 : status === 404);

if (!isMainThread) {
  const port = (workerData as { port: number }).port;
  const agent = new http.Agent({ keepAlive: true });
  const status = (host: string) => new Promise<number>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
  parentPort!.on('message', async (ask: Ask) => {
    const start = nowAbs();
    for (;;) {
      if (matches(await status(ask.host), ask.want)) { parentPort!.postMessage({ at: nowAbs() } satisfies Reply); return; }
      if (nowAbs() - start > ask.timeoutMs) { parentPort!.postMessage({ error: `${ask.host}: not as wanted within ${ask.timeoutMs} ms` } satisfies Reply); return; }
      await new Promise((r) => setTimeout(r, 2));
    }
  });
}

/** A poller of the proxy on 127.0.0.1:port. */
export class Poller {
  private readonly worker: Worker;

  constructor(port: number) {
    this.worker = new Worker(new URL(import.meta.url), { workerData: { port } });
  }

  /** Resolves with the ms from `since` (absolute, see now()) until the proxy answered as wanted. */
  until(host: string, want: Want, since: number, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      this.worker.once('message', (r: Reply) => ('at' in r ? resolve(r.at - since) : reject(new Error(r.error))));
      this.worker.postMessage({ host, want, timeoutMs } satisfies Ask);
    });
  }

  static now = nowAbs;

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
