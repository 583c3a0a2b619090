// A byte-rate limiter for one direction of one stream (Envoy's StreamRateLimiter): bytes pass as
// a token bucket of `kiBps` KiB per second allows, refilled every `fillMs`; what cannot pass yet
// waits and goes out on the next fills, in order. The end of the stream (and trailers) follows
// the last byte. Used by the bandwidth_limit filter and the fault filter's response rate limit.

const EMPTY = Buffer.alloc(0);

export class Throttle {
  private readonly bytesPerFill: number;
  private tokens: number;
  private queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Time spent waiting for tokens, for the bandwidth_limit trailers. */
  delayMs = 0;
  private waitingSince = 0;

  /**
   * `emit` receives each chunk that may go (end set with the last); `onEnd` runs once everything
   * went out (for trailers held meanwhile).
   */
  constructor(kiBps: number, private readonly fillMs: number, private readonly emit: (chunk: Buffer, end: boolean) => void, private readonly onEnd?: () => void) {
    this.bytesPerFill = Math.max(1, Math.floor((kiBps * 1024 * fillMs) / 1000));
    this.tokens = this.bytesPerFill;
  }

  write(chunk: Buffer, end: boolean): void {
    if (this.closed) return;
    if (chunk.length) { this.queue.push(chunk); this.queued += chunk.length; }
    if (end) this.ended = true;
    this.drain();
  }

  private drain(): void {
    while (this.queue.length && this.tokens > 0) {
      const head = this.queue[0]!;
      const n = Math.min(head.length, this.tokens);
      const part = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) this.queue.shift(); else this.queue[0] = head.subarray(n);
      this.queued -= n;
      this.tokens -= n;
      const last = this.ended && this.queued === 0;
      if (last) this.endEmitted = true;
      this.emit(part, last);
      if (this.closed) return;
    }
    if (this.queued > 0) {
      this.waitingSince ||= Date.now();
      this.timer ??= setTimeout(() => { this.timer = undefined; this.tokens = this.bytesPerFill; this.drain(); }, this.fillMs);
      return;
    }
    if (this.waitingSince) { this.delayMs += Date.now() - this.waitingSince; this.waitingSince = 0; }
    if (!this.ended || this.finished) return;
    this.finished = true;
    if (!this.endEmitted) { this.endEmitted = true; this.emit(EMPTY, true); }
    this.onEnd?.();
  }

  private endEmitted = false;
  private finished = false;

  /** The stream is gone: stop the timer, drop what waits. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue = [];
  }
}
