// A byte-rate limiter for one direction of one stream (Envoy's StreamRateLimiter): at most
// `kiBps` KiB per second pass, a slice every `fillMs`; what cannot pass yet waits and goes out on
// the next fills, in order. The end of the stream (and trailers) follows the last byte. Slices
// come from the stream's own allowance (the fault filter's response rate limit) or from a
// SharedBucket that all the streams of one bandwidth_limit config draw on.

const EMPTY = Buffer.alloc(0);

/**
 * Bytes shared by every stream of one limit: `kiBps` KiB a second, up to one second's worth
 * banked (it starts full), refilled continuously from the clock on each take.
 */
export class SharedBucket {
  private readonly max: number;
  private tokens: number;
  private last = Date.now();

  constructor(kiBps: number) {
    this.max = kiBps * 1024;
    this.tokens = this.max;
  }

  /** Takes up to `want` bytes; returns how many were granted. */
  take(want: number): number {
    const now = Date.now();
    if (now > this.last) {
      this.tokens = Math.min(this.max, this.tokens + ((now - this.last) * this.max) / 1000);
      this.last = now;
    }
    const n = Math.min(want, Math.floor(this.tokens));
    this.tokens -= n;
    return n;
  }
}

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
  constructor(kiBps: number, private readonly fillMs: number, private readonly emit: (chunk: Buffer, end: boolean) => void, private readonly onEnd?: () => void, private readonly bucket?: SharedBucket) {
    this.bytesPerFill = Math.max(1, Math.floor((kiBps * 1024 * fillMs) / 1000));
    this.tokens = bucket ? 0 : this.bytesPerFill;
  }

  /** Whether any byte had to wait for tokens. */
  get enforced(): boolean {
    return this.delayMs > 0 || this.waitingSince > 0;
  }

  write(chunk: Buffer, end: boolean): void {
    if (this.closed) return;
    if (chunk.length) { this.queue.push(chunk); this.queued += chunk.length; }
    if (end) this.ended = true;
    // With a shared bucket, a stream that was not waiting takes its slice now.
    if (this.bucket && !this.timer && this.tokens === 0 && this.queued) this.refill();
    this.drain();
  }

  private refill(): void {
    this.tokens = this.bucket ? this.bucket.take(Math.min(this.bytesPerFill, this.queued)) : this.bytesPerFill;
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
      this.timer ??= setTimeout(() => { this.timer = undefined; this.refill(); this.drain(); }, this.fillMs);
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
