/**
 * Sends the outbox's deliveries (EXTENSIONS.md §2): at least once, a destination's deliveries of
 * one user one at a time in commit order (the outbox leases only the first of each), at most
 * `concurrency` requests at once and `perDestination` to one destination (so a slow receiver holds
 * up only its own queue), each within its timeout. A failure is tried again after an exponential
 * backoff with jitter; one still failing `giveUpAfterMs` after it was written, or refused for
 * good, is parked for an administrator.
 */
import { isUnavailable } from "../domain/errors.js";
import { Batcher } from "../store/batcher.js";
import type { LeasedDelivery, OutboxStore } from "../store/outbox.js";

/** A delivery the receiver refused for good (e.g. an SSF receiver's 400): parked at once. */
export class PermanentDeliveryError extends Error {}

export interface Sender {
  /**
   * Resolves once the receiver took it, or with "dropped" when the destination wants nothing of
   * it (e.g. an SSF stream's subjects leave its user out); throws otherwise, a request that took
   * longer than its timeout included. The timeout counts from the request's start, not from the
   * lease: a delivery may wait for the courier's CPU (courier-process.ts) without failing for it.
   */
  send(delivery: LeasedDelivery): Promise<void | "dropped">;
}

export type Outcome = "delivered" | "retry" | "parked" | "dropped";

export interface DispatcherOptions {
  concurrency: number;
  perDestination: number;
  pollMs: number;
  /** First retry after about this long; doubled on each failure up to `maxBackoffMs`. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  giveUpAfterMs: number;
  /** Destinations whose deliveries wait where they are for now (a paused SSF stream): none is leased. */
  held?: () => readonly string[];
  /** How long a lease lasts unless renewed (default LEASE_MS). */
  leaseMs?: number;
  now?: () => Date;
  onOutcome?(outcome: Outcome): void;
  /** Reading or writing the outbox failed; the dispatcher goes on. */
  onError(err: unknown): void;
}

export class Dispatcher {
  private readonly inFlight = new Map<string, number>();
  /** The deliveries being sent here: their leases are renewed until they are settled. */
  private readonly sending = new Set<number>();
  private renewer?: NodeJS.Timeout;
  private renewing = false;
  private total = 0;
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private woken = false;
  /** Sent or dropped: deleted together with those settled in the same turn. */
  private readonly delivered = new Batcher<number>((ids) => this.outbox.delivered(ids));

  constructor(
    private readonly outbox: OutboxStore,
    /** The sender for a destination, or undefined for one that no longer exists (its deliveries are dropped). */
    private readonly senderFor: (destination: string) => Promise<Sender | undefined>,
    private readonly options: DispatcherOptions,
  ) {}

  start(): void {
    this.running = true;
    this.loop ??= this.run();
    this.renewer ??= setInterval(() => void this.renew(), this.leaseMs() / RENEWALS_PER_LEASE);
    this.renewer.unref();
  }

  /** Something was committed: look now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Stops leasing and waits up to `graceMs` for the sends under way (a target may take minutes):
   * one not settled by then is sent again after the next start.
   */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    const deadline = Date.now() + graceMs;
    while (this.total > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // What is still being sent is no longer renewed: after its lease another sender may take it.
    clearInterval(this.renewer);
    this.renewer = undefined;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let leased: LeasedDelivery[] = [];
      const free = this.options.concurrency - this.total;
      if (free > 0) {
        try {
          const now = this.now();
          // Renewed while the send is under way; one whose instance died is taken again once it runs out.
          const room = { limit: free, perDestination: this.options.perDestination, rooms: this.rooms() };
          leased = await this.outbox.leaseDue(now, new Date(now.getTime() + this.leaseMs()), room);
        } catch (err) {
          this.options.onError(err);
        }
      }
      for (const delivery of leased) void this.deliver(delivery);
      // A lease takes all the room there is: the next waits for a commit, a refill or the poll.
      await this.pause();
    }
  }

  /**
   * Each destination's room: none for a held one, and none for one with less than half of
   * `perDestination` free, so that a busy destination is refilled half at a time rather than a
   * lease per delivery (bench/FINDINGS.md, "2026-12-05, outbox per delivery").
   */
  private rooms(): Map<string, number> {
    const rooms = new Map<string, number>();
    for (const [destination, n] of this.inFlight) rooms.set(destination, this.hasRoom(n) ? this.options.perDestination - n : 0);
    for (const destination of this.options.held?.() ?? []) rooms.set(destination, 0);
    return rooms;
  }

  private hasRoom(inFlight: number): boolean {
    return this.options.perDestination - inFlight >= this.options.perDestination / 2;
  }

  private async deliver(delivery: LeasedDelivery): Promise<void> {
    const destination = delivery.destination;
    this.sending.add(delivery.id);
    this.total++;
    this.inFlight.set(destination, (this.inFlight.get(destination) ?? 0) + 1);
    try {
      await this.settle(delivery);
    } catch (err) {
      this.options.onError(err);
    } finally {
      this.sending.delete(delivery.id);
      this.total--;
      const left = this.inFlight.get(destination)! - 1;
      if (left === 0) this.inFlight.delete(destination);
      else this.inFlight.set(destination, left);
      if (this.hasRoom(left)) this.wake();
    }
  }

  private async settle(delivery: LeasedDelivery): Promise<void> {
    const sender = await this.whileUnavailable(() => this.senderFor(delivery.destination));
    if (!sender) {
      await this.whileUnavailable(() => this.delivered.add(delivery.id));
      this.options.onOutcome?.("dropped");
      return;
    }
    try {
      const sent = await sender.send(delivery);
      await this.whileUnavailable(() => this.delivered.add(delivery.id));
      this.options.onOutcome?.(sent === "dropped" ? "dropped" : "delivered");
    } catch (err) {
      const error = describe(err);
      const now = this.now();
      const exhausted = now.getTime() - delivery.createdAt.getTime() >= this.options.giveUpAfterMs;
      if (err instanceof PermanentDeliveryError || exhausted) {
        await this.whileUnavailable(() => this.outbox.failed(delivery.id, { error }));
        this.options.onOutcome?.("parked");
      } else {
        const dueAt = new Date(now.getTime() + this.backoff(delivery.attempts));
        await this.whileUnavailable(() => this.outbox.failed(delivery.id, { error, dueAt }));
        this.options.onOutcome?.("retry");
      }
    }
  }

  /**
   * `work` again, until it no longer finds the database unavailable or the dispatcher stops. A
   * leased delivery whose sender could not be read, or whose outcome could not be written, was
   * otherwise left leased here until its lease ran out: after a database restart every user with
   * such a delivery got nothing for up to LEASE_MS, and a delivery sent was sent again. Meanwhile
   * it stays among the sends under way, whose leases are renewed once the database is back.
   */
  private async whileUnavailable<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (!isUnavailable(err) || !this.running) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.options.pollMs * 2 ** attempt, MAX_UNAVAILABLE_WAIT_MS)));
      }
    }
  }

  private leaseMs(): number {
    return this.options.leaseMs ?? LEASE_MS;
  }

  /** One renewal at a time, of every lease whose send is under way. */
  private async renew(): Promise<void> {
    if (this.renewing || this.sending.size === 0) return;
    this.renewing = true;
    try {
      await this.outbox.renewLeases([...this.sending], new Date(this.now().getTime() + this.leaseMs()));
    } catch (err) {
      this.options.onError(err);
    } finally {
      this.renewing = false;
    }
  }

  /** Exponential in the attempts made, at most maxBackoffMs, with full jitter over its upper half. */
  private backoff(attempts: number): number {
    const ceiling = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** attempts);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.options.pollMs);
      this.wakeUp = done;
      if (this.woken || !this.running) done();
    });
  }
}

/**
 * How long a lease lasts unless renewed. The dispatcher renews the leases of its sends under way
 * RENEWALS_PER_LEASE times per lease (one write for all of them), so a send may take as long as
 * its timeout (an Actions target's may be ZITADEL's 270 s) without another sender taking it, while
 * the deliveries of an instance that died mid-send go to another within this: on PostgreSQL,
 * and on SQLite for a worker of the cluster that died (the process that owns the file frees
 * every lease when it starts, sqlite-outbox.ts). A lease as long as the longest timeout instead held such deliveries, and every
 * later one of their users and destinations, for minutes (the delivery drill measured 300 s).
 */
export const LEASE_MS = 10_000;
/** A renewal may be late by most of a lease (a stalled event loop, a slow database) before it lapses. */
const RENEWALS_PER_LEASE = 4;

/** Longest wait between two tries of a read or write that found the database unavailable. */
const MAX_UNAVAILABLE_WAIT_MS = 1_000;

/** What went wrong, for the outbox's last_error: no stack, bounded. */
function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.slice(0, 500);
}
