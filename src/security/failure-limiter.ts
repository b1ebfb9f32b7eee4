/**
 * Failed credentials per client address (bad tokens, wrong passwords), as a token bucket:
 * `perMinute` failures in a burst, then one more every 60/perMinute seconds. An address with
 * no failure left is refused every call until the bucket has refilled enough for one.
 */
const MAX_ADDRESSES = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  /** `perMinute` 0 turns the limit off. */
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = perMinute / 60_000;
  }

  /** Seconds until `address` may call again; 0 when it may now. */
  retryAfterSeconds(address: string): number {
    const bucket = this.refilled(address);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) / this.perMs / 1000);
  }

  recordFailure(address: string): void {
    if (this.perMinute === 0) return;
    const bucket = this.refilled(address) ?? { tokens: this.perMinute, at: this.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    if (!this.buckets.has(address)) {
      if (this.buckets.size >= MAX_ADDRESSES) this.forgetRefilled();
      this.buckets.set(address, bucket);
    }
  }

  private refilled(address: string): Bucket | undefined {
    const bucket = this.buckets.get(address);
    if (!bucket) return undefined;
    const now = this.now();
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    return bucket;
  }

  /** Full buckets say nothing a missing one would not; if every address is still limited, start over. */
  private forgetRefilled(): void {
    for (const address of this.buckets.keys()) {
      if (this.refilled(address)!.tokens >= this.perMinute) this.buckets.delete(address);
    }
    if (this.buckets.size >= MAX_ADDRESSES) this.buckets.clear();
  }
}
