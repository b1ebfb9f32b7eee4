/**
 * Joins the calls made within one turn of the event loop into one call of `run` with all their
 * items, so that what many deliveries write together is one write (the outbox rows settled
 * together, the poll SETs queued together: bench/FINDINGS.md, "2026-12-05, outbox per
 * delivery"); each call resolves or rejects as that one does.
 */
export class Batcher<T> {
  private items: T[] = [];
  private next?: Promise<void>;

  constructor(private readonly run: (items: T[]) => Promise<void>) {}

  add(item: T): Promise<void> {
    this.items.push(item);
    this.next ??= new Promise((resolve) => setImmediate(resolve)).then(() => {
      const items = this.items;
      this.items = [];
      this.next = undefined;
      return this.run(items);
    });
    return this.next;
  }
}
