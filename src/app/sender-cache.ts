/**
 * The sender of each destination, made once (an Actions target's is a read of the target) and
 * kept until the destination changes: `forget` for a change made on this instance, `clear` on
 * each refresh (delivery.ts) for those made on another (bench/FINDINGS.md, "2026-12-05, outbox
 * per delivery").
 */
import type { Sender } from "./dispatcher.js";

export class SenderCache {
  private readonly senders = new Map<string, Promise<Sender | undefined>>();

  constructor(private readonly make: (destination: string) => Promise<Sender | undefined>) {}

  get(destination: string): Promise<Sender | undefined> {
    let sender = this.senders.get(destination);
    if (!sender) {
      sender = this.make(destination);
      this.senders.set(destination, sender);
      // A failed read is not kept: the next delivery reads again.
      sender.catch(() => this.forgetThis(destination, sender!));
    }
    return sender;
  }

  forget(destination: string): void {
    this.senders.delete(destination);
  }

  clear(): void {
    this.senders.clear();
  }

  private forgetThis(destination: string, sender: Promise<Sender | undefined>): void {
    if (this.senders.get(destination) === sender) this.senders.delete(destination);
  }
}
