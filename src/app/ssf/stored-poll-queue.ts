/**
 * The poll streams' SETs (RFC 8936) as the store keeps them (SsfStore.queueSets and the rest):
 * queued by the stream sender, offered oldest first until acknowledged, kept with the receiver's
 * error when refused. A long poll wakes as soon as this instance queues a SET for its stream, and
 * looks again every `pollMs` for SETs queued by other instances.
 */
import type { StreamStatus } from "../../domain/ssf/stream.js";
import type { SsfStore } from "../../store/ssf-store.js";
import type { PollQueue, SetError } from "./poll-queue.js";

export class StoredPollQueue implements PollQueue {
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(
    private readonly store: Pick<SsfStore, "queuedSets" | "ackSets" | "refuseSets">,
    /** The stream's status now; a paused stream's SETs are held. */
    private readonly statusOf: (streamId: string) => StreamStatus | undefined,
    private readonly pollMs: number,
  ) {}

  /** SETs were queued for the stream here: its long polls look now. */
  queued(streamId: string): void {
    for (const wake of this.waiting.get(streamId) ?? []) wake();
  }

  ack(streamId: string, jtis: readonly string[]): Promise<void> {
    return this.store.ackSets(streamId, jtis);
  }

  error(streamId: string, errors: ReadonlyMap<string, SetError>): Promise<void> {
    const texts = new Map([...errors].map(([jti, { err, description }]) => [jti, description === undefined ? err : `${err}: ${description}`]));
    return this.store.refuseSets(streamId, texts);
  }

  async take(streamId: string, max: number, waitMs: number, signal: AbortSignal): Promise<{ sets: { jti: string; set: string }[]; moreAvailable: boolean }> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const held = this.statusOf(streamId) === "paused";
      // One more than asked for says whether more are waiting.
      const sets = held ? [] : await this.store.queuedSets(streamId, max + 1);
      const left = deadline - Date.now();
      if (sets.length > 0 || left <= 0 || signal.aborted) return { sets: sets.slice(0, max), moreAvailable: sets.length > max };
      await this.wait(streamId, Math.min(left, this.pollMs), signal);
    }
  }

  private wait(streamId: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(streamId) ?? new Set();
      this.waiting.set(streamId, waiters);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        waiters.delete(done);
        if (waiters.size === 0) this.waiting.delete(streamId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      waiters.add(done);
    });
  }
}
